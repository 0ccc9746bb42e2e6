/**
 * Tar entries of filesystem nodes, as image layers and `docker export` need them (engine/images/tar.ts
 * only writes the plain files of image archives). ustar headers, and a PAX record before the
 * header whenever a value does not fit ustar: names and link targets over 100 bytes or not ASCII,
 * ids, sizes or times out of the octal range, and xattrs (`SCHILY.xattr.NAME`, raw bytes, as GNU
 * tar and Go's archive/tar write them). Times are whole seconds, as docker writes layers.
 *
 * `TreeTar` reads nodes of a directory tree with lstat (never following a symlink) and yields
 * their entries: files with several links become hardlink entries to the first one written,
 * sockets are skipped (docker skips them too), a file that shrinks while being read is padded
 * with zeros and one that grows is cut at the size its header declared.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, open, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { lgetxattrs } from '../sys/libc.js';
import { fileTypeOf, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK } from '../sys/file-types.js';

const BLOCK = 512;
const MAX_OCTAL_8 = 0o7777777; // uid, gid, mode, devmajor, devminor
const MAX_OCTAL_12 = 0o77777777777; // size, mtime

export type NodeType = 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';

export interface TarNode {
  /** Relative, '/'-separated, no leading './' (a directory's trailing '/' is added here). */
  name: string;
  type: NodeType;
  /** Permission bits with setuid, setgid and sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Body bytes (files only). */
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  xattrs?: Map<string, Buffer>;
}

const typeFlags: Record<NodeType, string> = { file: '0', link: '1', symlink: '2', char: '3', block: '4', dir: '5', fifo: '6' };

const isAscii = (s: string): boolean => /^[\x01-\x7f]*$/.test(s);

/** One PAX record, "<len> <key>=<value>\n", where len counts the whole record including itself. */
function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.byteLength(key) + 1 + value.length + 1; // "key=value\n"
  let len = body + 2;
  while (String(len).length + 1 + body !== len) len = String(len).length + 1 + body;
  return Buffer.concat([Buffer.from(`${len} ${key}=`), value, Buffer.from('\n')]);
}

function octal(b: Buffer, value: number, offset: number, width: number): void {
  b.write(`${value.toString(8).padStart(width - 1, '0')}\0`, offset, width, 'ascii');
}

function rawHeader(name: string, flag: string, size: number, fields: { mode: number; uid: number; gid: number; mtime: number; linkname?: string; devmajor?: number; devminor?: number }): Buffer {
  const b = Buffer.alloc(BLOCK);
  b.write(name, 0, 100, 'utf8');
  octal(b, fields.mode, 100, 8);
  octal(b, fields.uid, 108, 8);
  octal(b, fields.gid, 116, 8);
  octal(b, size, 124, 12);
  octal(b, fields.mtime, 136, 12);
  b.write(flag, 156, 1, 'ascii');
  if (fields.linkname) b.write(fields.linkname, 157, 100, 'utf8');
  b.write('ustar\0', 257, 6, 'ascii');
  b.write('00', 263, 2, 'ascii');
  octal(b, fields.devmajor ?? 0, 329, 8);
  octal(b, fields.devminor ?? 0, 337, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i]!;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return b;
}

/** Zero bytes that complete a body of `size` bytes to whole blocks. */
export function padding(size: number): Buffer {
  const rest = (BLOCK - (size % BLOCK)) % BLOCK;
  return Buffer.alloc(rest);
}

/** The two zero blocks that end an archive. */
export const endOfArchive = (): Buffer => Buffer.alloc(2 * BLOCK);

/** The header block(s) of one node: a PAX extended header first when needed. */
export function encodeHeader(node: TarNode): Buffer {
  const name = node.type === 'dir' && !node.name.endsWith('/') ? `${node.name}/` : node.name;
  const size = node.type === 'file' ? node.size : 0;
  const pax: Buffer[] = [];
  const fits = (s: string) => isAscii(s) && Buffer.byteLength(s) <= 100;
  if (!fits(name)) pax.push(paxRecord('path', Buffer.from(name)));
  if (node.linkname !== undefined && !fits(node.linkname)) pax.push(paxRecord('linkpath', Buffer.from(node.linkname)));
  const big = (v: number, max: number) => v < 0 || v > max;
  if (big(node.uid, MAX_OCTAL_8)) pax.push(paxRecord('uid', Buffer.from(String(node.uid))));
  if (big(node.gid, MAX_OCTAL_8)) pax.push(paxRecord('gid', Buffer.from(String(node.gid))));
  if (big(size, MAX_OCTAL_12)) pax.push(paxRecord('size', Buffer.from(String(size))));
  if (big(node.mtime, MAX_OCTAL_12)) pax.push(paxRecord('mtime', Buffer.from(String(node.mtime))));
  for (const [key, value] of [...(node.xattrs ?? [])].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    pax.push(paxRecord(`SCHILY.xattr.${key}`, value));
  }
  const clamp = (v: number, max: number) => (v < 0 || v > max ? 0 : v);
  const header = rawHeader(fits(name) ? name : asciiPrefix(name), typeFlags[node.type], clamp(size, MAX_OCTAL_12), {
    mode: node.mode & 0o7777,
    uid: clamp(node.uid, MAX_OCTAL_8),
    gid: clamp(node.gid, MAX_OCTAL_8),
    mtime: clamp(node.mtime, MAX_OCTAL_12),
    ...(node.linkname !== undefined ? { linkname: fits(node.linkname) ? node.linkname : asciiPrefix(node.linkname) } : {}),
    ...(node.devmajor !== undefined ? { devmajor: clamp(node.devmajor, MAX_OCTAL_8) } : {}),
    ...(node.devminor !== undefined ? { devminor: clamp(node.devminor, MAX_OCTAL_8) } : {}),
  });
  if (pax.length === 0) return header;
  const body = Buffer.concat(pax);
  const paxName = `PaxHeaders/${asciiPrefix(name.replace(/\/$/, '').split('/').pop() ?? 'x', 80)}`;
  const paxHeader = rawHeader(paxName, 'x', body.length, { mode: 0o644, uid: 0, gid: 0, mtime: clamp(node.mtime, MAX_OCTAL_12) });
  return Buffer.concat([paxHeader, body, padding(body.length), header]);
}

/** A stand-in for the ustar field when the PAX record carries the real value. */
function asciiPrefix(s: string, max = 99): string {
  let out = '';
  for (const ch of s) {
    const c = /^[\x20-\x7e]$/.test(ch) ? ch : '_';
    if (out.length + 1 > max) break;
    out += c;
  }
  return out;
}


/** Linux's dev_t encoding (glibc's gnu_dev_major / gnu_dev_minor). */
export function devParts(rdev: bigint): { major: number; minor: number } {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return { major: Number(major), minor: Number(minor) };
}

/** xattrs that describe overlayfs's own bookkeeping, never content. */
export function isOverlayXattr(key: string): boolean {
  return key.startsWith('trusted.overlay.') || key.startsWith('user.overlay.');
}

/** A node's xattrs without overlayfs's own (a filesystem without xattrs: none). */
export function contentXattrs(path: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of lgetxattrs(path)) if (!isOverlayXattr(k)) out.set(k, v);
  return out;
}

const READ_CHUNK = 1 << 20;

/** Reads nodes below `root` and yields their tar entries; remembers inodes for hardlinks. */
export class TreeTar {
  private readonly linked = new Map<string, string>();

  constructor(readonly root: string) {}

  /** The entry of the node at `rel` ('a/b'); nothing for a socket or a node that vanished. */
  async *entry(rel: string, known?: BigIntStats): AsyncGenerator<Buffer> {
    const path = join(this.root, rel);
    let st = known;
    if (!st) {
      try {
        st = await lstat(path, { bigint: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // removed meanwhile (a running container)
        throw err;
      }
    }
    const fmt = fileTypeOf(st.mode);
    if (fmt === S_IFSOCK) return;
    const base = {
      name: rel,
      mode: Number(st.mode & 0o7777n),
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: 0,
      mtime: Number(st.mtimeMs / 1000n),
      xattrs: contentXattrs(path),
    };
    if (fmt !== S_IFDIR && st.nlink > 1n) {
      const id = `${st.dev}:${st.ino}`;
      const first = this.linked.get(id);
      if (first !== undefined) {
        yield encodeHeader({ ...base, type: 'link', linkname: first, xattrs: new Map() });
        return;
      }
      if (fmt === S_IFREG) this.linked.set(id, rel);
    }
    switch (fmt) {
      case S_IFDIR:
        yield encodeHeader({ ...base, type: 'dir' });
        return;
      case S_IFLNK:
        yield encodeHeader({ ...base, type: 'symlink', linkname: await readlink(path) });
        return;
      case S_IFCHR:
      case S_IFBLK: {
        const { major, minor } = devParts(st.rdev);
        yield encodeHeader({ ...base, type: fmt === S_IFCHR ? 'char' : 'block', devmajor: major, devminor: minor });
        return;
      }
      case S_IFIFO:
        yield encodeHeader({ ...base, type: 'fifo' });
        return;
      case S_IFREG: {
        const size = Number(st.size);
        yield encodeHeader({ ...base, type: 'file', size });
        yield* fileBody(path, size);
        yield padding(size);
        return;
      }
      default:
        throw new Error(`${path}: unknown file type ${fmt.toString(8)}`);
    }
  }
}

/** Exactly `size` bytes of a file: cut when it grew, zero-padded when it shrank since lstat. */
async function* fileBody(path: string, size: number): AsyncGenerator<Buffer> {
  if (size === 0) return;
  const fh = await open(path, 'r');
  try {
    let left = size;
    while (left > 0) {
      const buf = Buffer.allocUnsafe(Math.min(READ_CHUNK, left));
      const { bytesRead } = await fh.read(buf, 0, buf.length, size - left);
      if (bytesRead === 0) {
        yield Buffer.alloc(left);
        return;
      }
      left -= bytesRead;
      yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

/** The entry of a whiteout (`.wh.NAME`) or opaque marker (`.wh..wh..opq`): an empty file. */
export function markerEntry(name: string): Buffer {
  return encodeHeader({ name, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtime: 0 });
}
