/** Helpers for the snapshotter tests: a scratch dir whose mounts are always undone, layers, trees. */
import { createHash } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import { makeTar, type E } from '../unpack/lib.js';
import { busyPaths, mount, unmount, type Mount, type MountOptions } from '../../../engine/snapshots/index.js';
import { lgetxattrs } from '../../../engine/snapshots/native.js';
import { tempDir } from '../../helpers/env.js';

export const TGZ = 'application/vnd.oci.image.layer.v1.tar+gzip';

export interface Scratch {
  dir: string;
  /** Mount `mounts` on a new directory `name` under the scratch dir; undone in t.after. */
  mount(mounts: Mount[], name: string, options?: MountOptions): Promise<string>;
  unmount(target: string): Promise<void>;
}

/**
 * A temporary directory for one test. The unmount hook is registered before tempDir's rm, and
 * node:test runs t.after hooks in the order they were added: everything still mounted is
 * detached first (pass or fail), then the directory is removed.
 */
export async function scratch(t: TestContext): Promise<Scratch> {
  const mounted: string[] = [];
  t.after(async () => {
    for (const target of mounted.reverse()) {
      await unmount(target, { detach: true, all: true }).catch(() => undefined);
    }
    const left = await busyPaths(dir);
    if (left.length > 0) throw new Error(`mounts left behind: ${left.join(', ')}`);
  });
  const dir = await tempDir(t, 'tsdocker-snap-');
  return {
    dir,
    async mount(mounts, name, options) {
      const target = join(dir, name);
      await mkdir(target, { recursive: true });
      mounted.push(target);
      await mount(mounts, target, options);
      return target;
    },
    async unmount(target) {
      await unmount(target, { all: true });
      const i = mounted.indexOf(target);
      if (i >= 0) mounted.splice(i, 1);
    },
  };
}

export { T0, type E } from '../unpack/lib.js';

/** A gzip-compressed tar layer: the unpack tests' tar builder, compressed. */
export async function makeLayer(entries: E[]): Promise<Buffer> {
  return gzipSync(await makeTar(entries));
}

/** One line per node: type, mode, owner, size, content hash or link target or rdev, xattrs, mtime, hardlink group. */
export async function treeOf(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const inodes = new Map<string, string>();
  const visit = async (rel: string): Promise<void> => {
    const path = rel === '' ? root : join(root, rel);
    const st = await lstat(path, { bigint: true });
    const mode = Number(st.mode);
    const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'other';
    let body = '';
    if (st.isFile()) body = createHash('sha256').update(await readFile(path)).digest('hex').slice(0, 16);
    else if (st.isSymbolicLink()) body = `-> ${await readlink(path)}`;
    else if (st.isCharacterDevice() || st.isBlockDevice()) body = `rdev=${st.rdev}`;
    const xattrs = [...lgetxattrs(path)].filter(([k]) => !k.startsWith('trusted.overlay.')).map(([k, v]) => `${k}=${v.toString('hex')}`).sort().join(';');
    let group = '';
    if (!st.isDirectory() && st.nlink > 1n) {
      const id = `${st.dev}:${st.ino}`;
      group = ` link=${inodes.get(id) ?? rel}`;
      if (!inodes.has(id)) inodes.set(id, rel);
    }
    out.set(rel === '' ? '.' : rel, `${kind} ${(mode & 0o7777).toString(8)} ${st.uid}:${st.gid} size=${st.isFile() ? st.size : '-'} ${body} [${xattrs}] mtime=${st.mtimeNs}${group}`);
    if (st.isDirectory()) for (const name of (await readdir(path)).sort()) await visit(rel === '' ? name : `${rel}/${name}`);
  };
  await visit('');
  return out;
}

export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true });
}
