// Shared pieces of the commit tests: a two-layer busybox image (lower-layer whiteouts, an opaque
// directory, hardlinks, all times whole seconds in 2020), an engine over a temp data root per
// storage driver, a "container" (an active snapshot on the image, mounted, changed by the same
// busybox shell script `docker run` would run, through chroot), and readers of trees and tars.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { lstat, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { extract as tarExtract } from 'tar-stream';
import { openEngine, type Engine } from '../../engine/images/open-engine.js';
import type { ImageRecord } from '../../engine/images/record.js';
import { chainIds, unpackImage } from '../../engine/images/unpack-image.js';
import { lgetxattrs } from '../../engine/sys/libc.js';
import { tempDir } from '../helpers/env.js';
import { hostPlatform, imageOf, layerOf, type Layer, type TestImage } from '../helpers/images.js';
import { run } from '../helpers/run.js';
import { makeTar, T0, type E } from './unpack/lib.js';
import { scratch, type Scratch } from './snapshots/lib.js';
import { loadOci } from './push-helpers.js';

export type Driver = 'overlay' | 'vfs';
export const drivers: Driver[] = ['overlay', 'vfs'];
type Hooks = { after(fn: () => unknown): void };

const BUSYBOX = '/usr/bin/busybox';
const LONG_DIR = `long-${'d'.repeat(140)}`;
const LONG_FILE = `file-${'f'.repeat(110)}.txt`;
export const LONG_PATH = `${LONG_DIR}/${LONG_FILE}`;

/** Layer 0: busybox and the files the script changes. Layer 1: whiteouts and an opaque dir over layer 0. */
async function layerEntries(): Promise<E[][]> {
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  const dir = (name: string, mode = 0o755): E => ({ name: `${name}/`, type: 'directory', mode });
  const file = (name: string, data: string | Buffer, mode = 0o644): E => ({ name, data, mode });
  const l0: E[] = [
    dir('bin'),
    file('bin/busybox', await readFile(BUSYBOX), 0o755),
    ...applets.map((a): E => ({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox', mode: 0o777 })),
    dir('etc'),
    file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n'),
    file('etc/group', 'root:x:0:\napp:x:1000:\n'),
    dir('tmp', 0o1777),
    dir('data'),
    file('data/keep.txt', 'keep\n'),
    file('data/old.txt', 'old\n'),
    file('data/mod.txt', 'mod v1\n'),
    dir('dir1'),
    file('dir1/a', 'a\n'),
    dir('dir1/sub'),
    file('dir1/sub/b', 'b\n'),
    file('perm.txt', 'perm\n'),
    { name: 'oldlink', type: 'symlink', linkname: 'data/keep.txt', mode: 0o777 },
    dir('nest'),
    dir('nest/a'),
    dir('nest/a/b'),
    file('nest/a/b/c.txt', 'c\n'),
    file('touchme', 'touch\n'),
    file('same.txt', 'same\n'),
    file('f2d', 'file then dir\n'),
    dir('rmdir'),
    dir('rmdir/x'),
    file('rmdir/x/y', 'y\n'),
    dir('dmode'),
    file('dmode/f', 'f\n'),
    dir('opq'),
    file('opq/old1', 'hidden by layer 1\n'),
    dir('hl'),
    file('hl/one', 'linked\n'),
    { name: 'hl/two', type: 'link', linkname: 'hl/one' },
    file('zap', 'whited out by layer 1\n'),
    file('d2f-file', 'x\n'),
    dir('d2f'),
    file('d2f/inner', 'inner\n'),
  ];
  const l1: E[] = [
    dir('l2'),
    file('l2/gone', 'gone\n'),
    file('l2/stay', 'stay\n'),
    file('.wh.zap', ''),
    dir('opq'),
    file('opq/.wh..wh..opq', ''),
    file('opq/new1', 'new1\n'),
    file('opq/new2', 'new2\n'),
    dir('data'),
    file('data/mod.txt', 'mod v2\n'),
  ];
  return [l0, l1];
}

/** The two-layer busybox image, in Docker schema 2 or OCI form. */
export async function buildBusyboxImage(format: 'docker' | 'oci'): Promise<TestImage> {
  const layers: Layer[] = [];
  for (const entries of await layerEntries()) layers.push(layerOf(await makeTar(entries), format));
  const created = new Date(T0 * 1000).toISOString();
  return imageOf(layers, {
    created,
    architecture: hostPlatform.architecture,
    os: 'linux',
    config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'], Labels: { 'org.tsdocker.test': 'commit' } },
    history: layers.map((_, i) => ({ created, created_by: `layer ${i}` })),
  }, format);
}

/** What a container does to the image: the same script for `docker run` and for our chroot. */
export const SCRIPT = [
  'echo new > /data/new.txt',
  'echo changed > /data/mod.txt',
  'rm /data/old.txt',
  'rm -rf /dir1 && mkdir /dir1 && echo x > /dir1/fresh',
  'chmod 600 /perm.txt',
  'ln -s /data/keep.txt /newlink',
  'ln /data/new.txt /data/hard',
  'mkdir -p /newdir/deep && echo y > /newdir/deep/f',
  'rm /l2/gone',
  'rm /oldlink && ln -s elsewhere /oldlink',
  'echo more >> /nest/a/b/c.txt',
  'echo t > /tmp/t && rm /tmp/t',
  'chmod 700 /dmode',
  'touch -d "2021-01-01 00:00:00" /touchme',
  'rm /f2d && mkdir /f2d && echo z > /f2d/z',
  'rm -rf /rmdir',
  'chown 1000:1000 /data/keep.txt',
  'rm /opq/new1',
  'rm -rf /d2f && echo now-a-file > /d2f',
  'head -c 300000 /bin/busybox > /big.bin',
  'mkfifo /fifo',
  'mknod /chardev c 1 3',
  `mkdir /${LONG_DIR} && echo long > /${LONG_PATH}`,
  'echo u > /data/ünïcødé.txt',
].join(' && ');

export interface Setup {
  driver: Driver;
  engine: Engine;
  scratch: Scratch;
  dir: string;
}

/** A scratch dir (its mounts undone first), then an engine of `driver` over a temp data root. */
export async function setup(t: Hooks & Parameters<typeof scratch>[0], driver: Driver): Promise<Setup> {
  const s = await scratch(t);
  const dir = await tempDir(t, 'tsd-commit-');
  await writeFile(join(dir, 'config.json'), '{}\n');
  const engine = await openEngine({ dataRoot: join(dir, 'data'), storageDriver: driver, unpackWorkers: 1, dockerConfig: { path: join(dir, 'config.json') } });
  t.after(() => engine.close());
  return { driver, engine, scratch: s, dir };
}

/** Load `image` under `tag` and unpack it; returns its record. */
export async function loadImage(t: Hooks, engine: Engine, image: TestImage, tag: string): Promise<ImageRecord> {
  await loadOci(t, engine, [{ tag, image }]);
  const record = (await engine.images.resolve(tag)).image;
  await unpackImage(engine, record);
  return record;
}

export interface Container {
  key: string;
  /** Where its snapshot is mounted (until unmount()). */
  root: string;
  unmount(): Promise<void>;
}

let containers = 0;

/** An active snapshot on `image`, mounted. */
export async function createContainer(s: Setup, image: ImageRecord, name = `ctr-${++containers}`): Promise<Container> {
  const parent = chainIds(image.diffIds).at(-1);
  const mounts = await s.engine.snapshots.prepare(name, parent);
  const root = await s.scratch.mount(mounts, name);
  return { key: name, root, unmount: () => s.scratch.unmount(root) };
}

/** Run a busybox shell script inside `root` (chroot), as the container's process would. */
export async function runIn(root: string, script: string): Promise<void> {
  await run('chroot', [root, '/bin/sh', '-c', script]);
}

/** A read-only view of a committed chain, mounted; returns the mount point. */
export async function viewOf(s: Setup, chain: string, name: string): Promise<string> {
  const mounts = await s.engine.snapshots.view(name, chain);
  return s.scratch.mount(mounts, name);
}

/**
 * One line per node (relative path -> description): type, permission bits, owner, size, content
 * hash, link target, device, xattrs (overlayfs's own left out); mtime seconds of non-directories.
 */
export async function treeOf(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const visit = async (rel: string): Promise<void> => {
    const path = join(root, rel);
    const st = await lstat(path, { bigint: true });
    const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'other';
    let body = '';
    if (st.isFile()) body = createHash('sha256').update(await readFile(path)).digest('hex').slice(0, 16);
    else if (st.isSymbolicLink()) body = `-> ${await readlink(path)}`;
    else if (st.isCharacterDevice() || st.isBlockDevice()) body = `rdev=${st.rdev}`;
    const xattrs = [...lgetxattrs(path)].filter(([k]) => !k.startsWith('trusted.overlay.')).map(([k, v]) => `${k}=${v.toString('hex')}`).sort().join(';');
    const mtime = st.isDirectory() ? '' : ` mtime=${st.mtimeMs / 1000n}`;
    if (rel !== '') out.set(rel, `${kind} ${(st.mode & 0o7777n).toString(8)} ${st.uid}:${st.gid} size=${st.isFile() ? st.size : '-'} ${body} [${xattrs}]${mtime}`);
    if (st.isDirectory()) for (const name of (await readdir(path)).sort()) await visit(rel === '' ? name : `${rel}/${name}`);
  };
  await visit('');
  return out;
}

export interface TarItem {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  sha?: string;
  linkname?: string;
  dev?: string;
  xattrs: string;
  mtime: number;
}

/** Every entry of a tar (gzip or not) by name ('./' prefix and trailing '/' dropped). */
export async function listTar(input: Buffer | Readable): Promise<Map<string, TarItem>> {
  let bytes: Buffer;
  if (Buffer.isBuffer(input)) bytes = input;
  else {
    const chunks: Buffer[] = [];
    for await (const c of input) chunks.push(c as Buffer);
    bytes = Buffer.concat(chunks);
  }
  if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
  const out = new Map<string, TarItem>();
  const ex = tarExtract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        const name = h.name.replace(/^\.\//, '').replace(/\/$/, '');
        const xattrs = Object.entries(h.pax ?? {}).filter(([k]) => k.startsWith('SCHILY.xattr.')).map(([k, v]) => `${k.slice(13)}=${v}`).sort().join(';');
        const item: TarItem = { type: h.type ?? 'file', mode: (h.mode ?? 0) & 0o7777, uid: h.uid ?? 0, gid: h.gid ?? 0, size: h.size ?? 0, xattrs, mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000) };
        if (h.type === 'file') item.sha = createHash('sha256').update(Buffer.concat(chunks)).digest('hex').slice(0, 16);
        if (h.linkname) item.linkname = h.linkname;
        if (h.type === 'character-device' || h.type === 'block-device') item.dev = `${h.devmajor}:${h.devminor}`;
        if (out.has(name)) reject(new Error(`tar lists ${name} twice`));
        out.set(name, item);
        next();
      });
      stream.resume();
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(bytes);
  await done;
  return out;
}

/** `docker diff` lines (`A /x`) from our rows. */
export function diffLines(rows: Array<{ Path: string; Kind: number }>): string[] {
  return rows.map((r) => `${'CAD'[r.Kind]} ${r.Path}`).sort();
}

/** Entries that docker's init layer and runtime add to every container. */
export const dockerOwn = new Set(['', '.dockerenv', 'dev', 'dev/console', 'dev/pts', 'dev/shm', 'etc/hostname', 'etc/hosts', 'etc/mtab', 'etc/resolv.conf', 'proc', 'sys']);

/** Hardlink entries replaced by what they point at (which name comes first is the writer's choice). */
export function resolveLinks(items: Map<string, TarItem>): Map<string, Omit<TarItem, 'mtime'>> {
  const out = new Map<string, Omit<TarItem, 'mtime'>>();
  for (const [name, item] of items) {
    const target = item.type === 'link' ? items.get(item.linkname!.replace(/^\.\//, '')) : item;
    assert.ok(target, `${name}: hardlink to a missing entry ${item.linkname}`);
    const { mtime: _mtime, ...rest } = target;
    out.set(name, rest);
  }
  return out;
}
