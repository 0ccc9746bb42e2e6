/** Helpers for the unpack tests: build layers with tar-stream, snapshot trees, plant sentinels. */
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { pack as tarPack, type Header } from 'tar-stream';
import type { Digest } from '../../../shared/digest.js';
import { lgetxattrs } from '../../../engine/unpack/native.js';
import { tempDir } from '../../helpers/env.js';

export const TAR = 'application/vnd.oci.image.layer.v1.tar';
export const TGZ = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const TZST = 'application/vnd.oci.image.layer.v1.tar+zstd';

export interface E {
  name: string;
  type?: Header['type'];
  data?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  linkname?: string;
  mtime?: number; // seconds
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

export const T0 = 1_600_000_000;

export async function makeTar(entries: E[]): Promise<Buffer> {
  const p = tarPack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const ended = new Promise<void>((resolve, reject) => {
    p.on('end', () => resolve());
    p.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const data = e.data === undefined ? undefined : Buffer.from(e.data);
    const header: Partial<Header> & { name: string } = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: new Date((e.mtime ?? T0) * 1000),
      size: type === 'file' ? data?.length ?? 0 : 0,
    };
    if (e.linkname !== undefined) header.linkname = e.linkname;
    if (e.devmajor !== undefined) header.devmajor = e.devmajor;
    if (e.devminor !== undefined) header.devminor = e.devminor;
    if (e.pax) header.pax = e.pax;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (type === 'file') p.entry(header, data ?? Buffer.alloc(0), done);
      else p.entry(header, done);
    });
  }
  p.finalize();
  await ended;
  return Buffer.concat(chunks);
}

export const gzip = (b: Buffer): Buffer => gzipSync(b);

export function zstdCompress(b: Buffer): Buffer {
  const r = spawnSync('zstd', ['-q', '-c', '-3'], { input: b, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`zstd failed: ${r.stderr.toString()}`);
  return r.stdout;
}

export function sha256(b: Buffer): Digest {
  return `sha256:${createHash('sha256').update(b).digest('hex')}` as Digest;
}

export async function* chunked(b: Buffer, size = 7919): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

// ---- trees --------------------------------------------------------------------------------

export interface Node {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size?: number;
  sha?: string;
  target?: string;
  rdev?: number;
  mtime?: number;
  xattrs?: Record<string, string>;
  ino: number;
}

function typeOf(s: Stats): string {
  if (s.isFile()) return 'file';
  if (s.isDirectory()) return 'dir';
  if (s.isSymbolicLink()) return 'symlink';
  if (s.isCharacterDevice()) return 'char';
  if (s.isBlockDevice()) return 'block';
  if (s.isFIFO()) return 'fifo';
  return 'socket';
}

/** Every path below `dir` (relative) with its metadata; hardlinks are visible as shared `ino`. */
export function snapshot(dir: string, opts: { xattrs?: boolean; mtimes?: boolean } = {}): Map<string, Node> {
  const out = new Map<string, Node>();
  const walk = (rel: string): void => {
    const abs = rel ? join(dir, rel) : dir;
    const s = lstatSync(abs);
    const n: Node = { type: typeOf(s), mode: s.mode & 0o7777, uid: s.uid, gid: s.gid, ino: s.ino };
    if (s.isFile()) {
      n.size = s.size;
      n.sha = createHash('sha256').update(readFileSync(abs)).digest('hex');
    }
    if (s.isSymbolicLink()) n.target = readlinkSync(abs);
    if (s.isCharacterDevice() || s.isBlockDevice()) n.rdev = s.rdev;
    if (opts.mtimes && !s.isDirectory()) n.mtime = Math.floor(s.mtimeMs / 1000);
    if (opts.xattrs) {
      const x = lgetxattrs(abs);
      if (x.size > 0) n.xattrs = Object.fromEntries([...x].map(([k, v]) => [k, v.toString('base64')]).sort());
    }
    out.set(rel || '.', n);
    if (s.isDirectory()) for (const c of readdirSync(abs).sort()) walk(rel ? `${rel}/${c}` : c);
  };
  walk('');
  return out;
}

/** Differences between two snapshots, hardlink structure included (as groups of paths). */
export function diffTrees(a: Map<string, Node>, b: Map<string, Node>, ignore: (path: string, field: string) => boolean = () => false): string[] {
  const diffs: string[] = [];
  for (const [p, na] of a) {
    const nb = b.get(p);
    if (!nb) {
      diffs.push(`only in first: ${p}`);
      continue;
    }
    for (const f of ['type', 'mode', 'uid', 'gid', 'size', 'sha', 'target', 'rdev', 'mtime', 'xattrs'] as const) {
      const va = JSON.stringify(na[f]);
      const vb = JSON.stringify(nb[f]);
      if (va !== vb && !ignore(p, f)) diffs.push(`${p}: ${f} ${va} != ${vb}`);
    }
  }
  for (const p of b.keys()) if (!a.has(p)) diffs.push(`only in second: ${p}`);
  const groups = (m: Map<string, Node>): string[] => {
    const by = new Map<number, string[]>();
    for (const [p, n] of m) if (n.type !== 'dir') by.set(n.ino, [...(by.get(n.ino) ?? []), p]);
    return [...by.values()].filter((g) => g.length > 1).map((g) => g.sort().join(' = ')).sort();
  };
  const ga = groups(a);
  const gb = groups(b);
  if (JSON.stringify(ga) !== JSON.stringify(gb)) diffs.push(`hardlink groups differ: ${JSON.stringify(ga)} vs ${JSON.stringify(gb)}`);
  return diffs;
}

// ---- the sentinel around a root ----------------------------------------------------------------

export interface Arena {
  base: string;
  root: string;
  /** A directory beside the root. */
  sentinel: string;
  /** A directory directly under /tmp, i.e. an absolute path a hostile layer might aim for. */
  decoy: string;
  /** Throws if anything outside the root (sentinel, decoy, /etc/passwd, /abs names) changed. */
  assertUntouched(): void;
}

function fingerprint(path: string): string {
  try {
    const s = lstatSync(path);
    return path === '/etc/passwd' ? JSON.stringify([s.ino, s.size, s.nlink, s.mode, s.uid, s.gid, s.mtimeMs]) : 'exists';
  } catch {
    return 'missing';
  }
}

export async function arena(t: TestContext): Promise<Arena> {
  const base = await tempDir(t, 'tsd-unpack-');
  const root = join(base, 'root');
  const sentinel = join(base, 'sentinel');
  mkdirSync(root);
  mkdirSync(sentinel);
  writeFileSync(join(sentinel, 'keep'), 'sentinel');
  const decoy = `/tmp/tsd-decoy-${randomBytes(4).toString('hex')}`;
  mkdirSync(decoy);
  writeFileSync(join(decoy, 'keep'), 'decoy');
  t.after(() => rmSync(decoy, { recursive: true, force: true }));
  // /etc/passwd by identity and link count; the rest are names hostile layers aim for, which must not appear.
  const watched = ['/etc/passwd', '/tmp/x', '/x', '/abs', '/pwned', '/etc/x', '/etc/pwned', '/tmp/pwned'];
  const before = {
    base: [...snapshot(base)].filter(([p]) => p !== 'root' && !p.startsWith('root/')),
    decoy: [...snapshot(decoy)],
    watched: watched.map(fingerprint),
  };
  return {
    base,
    root,
    sentinel,
    decoy,
    assertUntouched() {
      const now = {
        base: [...snapshot(base)].filter(([p]) => p !== 'root' && !p.startsWith('root/')),
        decoy: [...snapshot(decoy)],
        watched: watched.map(fingerprint),
      };
      // the base dir's own mtime changes when the root is created inside it; ignore '.'
      const strip = (x: [string, Node][]): string => JSON.stringify(x.filter(([p]) => p !== '.'));
      if (strip(now.base) !== strip(before.base)) throw new Error(`something changed beside the root:\n${strip(before.base)}\n${strip(now.base)}`);
      if (JSON.stringify(now.decoy) !== JSON.stringify(before.decoy)) throw new Error(`the decoy ${decoy} changed`);
      for (let i = 0; i < watched.length; i++) {
        if (now.watched[i] !== before.watched[i]) throw new Error(`${watched[i]} changed: ${before.watched[i]} -> ${now.watched[i]}`);
      }
    },
  };
}
