/**
 * What changed in a container's tree relative to its parent, with docker's rules
 * (`docker diff`): a path only in the new tree is added (its whole subtree too), only in the old
 * one deleted (not its subtree), in both but different modified; and every directory holding a
 * change is reported modified (docker needs it to keep the directory's metadata).
 *
 * Two ways to find them, same answers:
 * - `diffTrees`: the double walk of the old and new full trees (vfs, and overlay with redirects or
 *   metacopy), as docker's and containerd's naive differs do;
 * - `diffUpper`: overlay's upper dir says what can have changed (copied up, created, whiteout
 *   devices, opaque directories); each path there is compared with the parent's merged tree.
 *   It also reports the opaque directories whose lower content is hidden as a whole, so a layer
 *   can say so with one `.wh..wh..opq` instead of a whiteout per lost child.
 *
 * "Different" (`sameNode`), containerd's rule: type and permission bits, owner, device number,
 * xattrs (overlayfs's own left out) and, for non-directories, size and mtime; when both mtimes
 * are whole seconds (a tar extraction truncates them) the content or link target decides.
 * Directory sizes and times are not compared (they change when anything inside is touched). docker
 * treats a whole-second mtime as equal to any time in that second, so it misses a same-size
 * rewrite within the second the image file was written; this does not.
 */
import type { BigIntStats } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { lgetxattrs } from '../sys/libc.js';
import { contentXattrs } from './layer-tar.js';

export const MODIFIED = 0;
export const ADDED = 1;
export const DELETED = 2;
export type Kind = typeof MODIFIED | typeof ADDED | typeof DELETED;

/** Relative path ('a/b', no leading slash) -> kind. */
export type ChangeMap = Map<string, Kind>;

export interface UpperDiff {
  changes: ChangeMap;
  /** Directories whose lower content the upper dir hides as a whole (outermost ones only). */
  opaque: Set<string>;
  /** Every upper path below an opaque directory (they all belong in a layer that marks it opaque). */
  hidden: Map<string, string[]>;
}

/** The upper dir uses overlay features a path-by-path comparison cannot follow. */
export class NeedsMergedWalk extends Error {
  constructor(readonly path: string, readonly feature: string) {
    super(`${path}: overlay ${feature}`);
  }
}

const OPAQUE_XATTR = 'trusted.overlay.opaque';
const REDIRECT_XATTR = 'trusted.overlay.redirect';
const METACOPY_XATTR = 'trusted.overlay.metacopy';
const CHUNK = 64 * 1024;
const NS = 1_000_000_000n;

const join2 = (rel: string, name: string): string => (rel === '' ? name : `${rel}/${name}`);

async function statAll(dir: string, names: string[]): Promise<BigIntStats[]> {
  return Promise.all(names.map((n) => lstat(join(dir, n), { bigint: true })));
}

function sameXattrs(a: string, b: string): boolean {
  const xa = contentXattrs(a);
  const xb = contentXattrs(b);
  if (xa.size !== xb.size) return false;
  for (const [k, v] of xa) {
    const w = xb.get(k);
    if (!w || !w.equals(v)) return false;
  }
  return true;
}

async function sameContent(a: string, b: string, size: number): Promise<boolean> {
  if (size === 0) return true;
  const [fa, fb] = await Promise.all([open(a, 'r'), open(b, 'r')]);
  try {
    const ba = Buffer.allocUnsafe(CHUNK);
    const bb = Buffer.allocUnsafe(CHUNK);
    for (let pos = 0; pos < size; pos += CHUNK) {
      const [ra, rb] = await Promise.all([fa.read(ba, 0, CHUNK, pos), fb.read(bb, 0, CHUNK, pos)]);
      if (ra.bytesRead !== rb.bytesRead || !ba.subarray(0, ra.bytesRead).equals(bb.subarray(0, rb.bytesRead))) return false;
      if (ra.bytesRead === 0) return true;
    }
    return true;
  } finally {
    await Promise.all([fa.close(), fb.close()]);
  }
}

/** Is the node at `newPath` unchanged from the one at `oldPath`? */
export async function sameNode(oldSt: BigIntStats, oldPath: string, newSt: BigIntStats, newPath: string): Promise<boolean> {
  if (oldSt.mode !== newSt.mode || oldSt.uid !== newSt.uid || oldSt.gid !== newSt.gid) return false;
  if ((oldSt.isCharacterDevice() || oldSt.isBlockDevice()) && oldSt.rdev !== newSt.rdev) return false;
  if (!oldSt.isDirectory()) {
    if (oldSt.size !== newSt.size) return false;
    if (oldSt.mtimeNs / NS !== newSt.mtimeNs / NS) return false;
    const oldNs = oldSt.mtimeNs % NS;
    const newNs = newSt.mtimeNs % NS;
    if (oldNs === 0n && newNs === 0n) {
      if (oldSt.isSymbolicLink()) {
        if ((await readlink(oldPath)) !== (await readlink(newPath))) return false;
      } else if (oldSt.isFile() && !(await sameContent(oldPath, newPath, Number(oldSt.size)))) {
        return false;
      }
    } else if (oldNs !== newNs) {
      return false;
    }
    if (oldSt.isSymbolicLink() && (await readlink(oldPath)) !== (await readlink(newPath))) return false;
  }
  return sameXattrs(oldPath, newPath);
}

/** Every directory holding a change is itself modified (unless added); the root is never listed. */
export function withParents(changes: ChangeMap): ChangeMap {
  for (const path of [...changes.keys()]) {
    for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
      const dir = path.slice(0, i);
      if (changes.has(dir)) break; // its own parents were added when it was
      changes.set(dir, MODIFIED);
    }
  }
  return changes;
}

/** The double walk: `oldRoot` undefined means an empty parent (everything is added). */
export async function diffTrees(oldRoot: string | undefined, newRoot: string, signal?: AbortSignal): Promise<ChangeMap> {
  const changes: ChangeMap = new Map();
  const walk = async (rel: string, oldIsDir: boolean): Promise<void> => {
    signal?.throwIfAborted();
    const newDir = join(newRoot, rel);
    const names = (await readdir(newDir)).sort();
    const oldNames = oldIsDir && oldRoot !== undefined ? new Set(await readdir(join(oldRoot, rel))) : new Set<string>();
    const stats = await statAll(newDir, names);
    const olds = await Promise.all(names.map((n) => (oldNames.has(n) ? lstat(join(oldRoot!, rel, n), { bigint: true }) : undefined)));
    for (let i = 0; i < names.length; i++) {
      const path = join2(rel, names[i]!);
      const st = stats[i]!;
      const old = olds[i];
      if (old) {
        if (!(await sameNode(old, join(oldRoot!, path), st, join(newRoot, path)))) changes.set(path, MODIFIED);
        if (st.isDirectory()) await walk(path, old.isDirectory());
      } else {
        changes.set(path, ADDED);
        if (st.isDirectory()) await walk(path, false);
      }
    }
    const present = new Set(names);
    for (const name of [...oldNames].sort()) if (!present.has(name)) changes.set(join2(rel, name), DELETED);
  };
  await walk('', oldRoot !== undefined);
  return withParents(changes);
}

const isWhiteout = (st: BigIntStats): boolean => st.isCharacterDevice() && st.rdev === 0n;

/**
 * The overlay walk: `upper` is the snapshot's upper dir, `lower` the parent's merged tree
 * (undefined: no parent). Throws NeedsMergedWalk on redirected directories or metacopy files,
 * whose content the upper dir does not hold.
 */
export async function diffUpper(upper: string, lower: string | undefined, signal?: AbortSignal): Promise<UpperDiff> {
  const changes: ChangeMap = new Map();
  const opaque = new Set<string>();
  const hidden = new Map<string, string[]>();
  /**
   * `lowerIsDir`: the parent's tree has a directory at `rel`; `hiddenBy`: the outermost opaque
   * directory at or above `rel` whose lower content the merged tree does not show.
   */
  const walk = async (rel: string, lowerIsDir: boolean, hiddenBy: string | undefined): Promise<void> => {
    signal?.throwIfAborted();
    const dir = join(upper, rel);
    const names = (await readdir(dir)).sort();
    const stats = await statAll(dir, names);
    const lowerNames = lowerIsDir && lower !== undefined ? new Set(await readdir(join(lower, rel))) : new Set<string>();
    const visible = new Set<string>();
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      const st = stats[i]!;
      if (isWhiteout(st)) {
        if (hiddenBy === undefined && lowerNames.has(name)) changes.set(join2(rel, name), DELETED);
        continue;
      }
      visible.add(name);
      const path = join2(rel, name);
      const xattrs = st.isDirectory() || st.isFile() ? lgetxattrs(join(upper, path)) : undefined;
      if (xattrs?.has(REDIRECT_XATTR)) throw new NeedsMergedWalk(path, 'redirect_dir');
      if (xattrs?.has(METACOPY_XATTR)) throw new NeedsMergedWalk(path, 'metacopy');
      if (hiddenBy !== undefined) hidden.get(hiddenBy)!.push(path);
      const old = lowerNames.has(name) ? await lstat(join(lower!, path), { bigint: true }) : undefined;
      if (!old) {
        changes.set(path, ADDED);
        if (st.isDirectory()) await walk(path, false, hiddenBy);
        continue;
      }
      if (!(await sameNode(old, join(lower!, path), st, join(upper, path)))) changes.set(path, MODIFIED);
      if (!st.isDirectory()) continue;
      let childHiddenBy = hiddenBy;
      if (childHiddenBy === undefined && old.isDirectory() && xattrs?.get(OPAQUE_XATTR)?.toString() === 'y') {
        childHiddenBy = path;
        opaque.add(path);
        hidden.set(path, []);
      }
      await walk(path, old.isDirectory(), childHiddenBy);
    }
    // Below an opaque directory the merged tree shows the upper dir only: every lower child it lacks is gone.
    if (hiddenBy !== undefined) {
      for (const name of [...lowerNames].sort()) if (!visible.has(name)) changes.set(join2(rel, name), DELETED);
    }
  };
  await walk('', lower !== undefined, undefined);
  return { changes: withParents(changes), opaque, hidden };
}

/** docker's rows, sorted by path. */
export function changeRows(changes: ChangeMap): Array<{ Path: string; Kind: Kind }> {
  return [...changes]
    .map(([path, kind]) => ({ Path: `/${path}`, Kind: kind }))
    .sort((a, b) => (a.Path < b.Path ? -1 : a.Path > b.Path ? 1 : 0));
}
