/**
 * copyTree: a faithful copy of a directory tree for the vfs snapshotter. fs.cp loses owners of
 * symlinks, xattrs, device nodes, hardlinks and nanosecond times; this keeps them:
 * - every node is read with lstat (never following a symlink) and created without following one;
 * - regular files: content with copyFile (a reflink where the filesystem can);
 *   files with several links become hardlinks to the first copy (by source dev:ino);
 * - symlinks: same target; char/block devices, fifos, sockets: mknod with the same rdev;
 * - metadata order: create -> owner (lchown) -> mode (chmod; chown clears setuid/setgid and
 *   security.capability) -> xattrs -> times (utimensat, ns, no follow); directory times are
 *   set after their children were written.
 * The destination root must not exist; its parent must.
 */
import { constants as fsConstants } from 'node:fs';
import { chmod, copyFile, lchown, link, lstat, mkdir, readdir, readlink, symlink } from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { fileTypeOf, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK } from '../sys/file-types.js';
import { lgetxattrs, lsetxattr, lutimesNs, mknod } from './native.js';


export interface CopyOptions {
  signal?: AbortSignal;
  /** Copy owners (default: when running as root). */
  owners?: boolean;
}

export async function copyTree(src: string, dst: string, options: CopyOptions = {}): Promise<void> {
  const owners = options.owners ?? process.getuid?.() === 0;
  const links = new Map<string, string>();
  const st = await lstat(src, { bigint: true });
  if (fileTypeOf(st.mode) !== S_IFDIR) throw new Error(`copyTree: ${src} is not a directory`);
  await copyDir(src, dst, st, { owners, links, signal: options.signal });
}

interface State {
  owners: boolean;
  links: Map<string, string>;
  signal: AbortSignal | undefined;
}

async function copyDir(src: string, dst: string, st: BigIntStats, s: State): Promise<void> {
  await mkdir(dst, { mode: 0o700 });
  for (const name of await readdir(src)) {
    s.signal?.throwIfAborted();
    const from = join(src, name);
    const to = join(dst, name);
    const cst = await lstat(from, { bigint: true });
    const type = fileTypeOf(cst.mode);
    if (type === S_IFDIR) {
      await copyDir(from, to, cst, s);
      continue;
    }
    if (cst.nlink > 1n && type !== S_IFDIR) {
      const id = `${cst.dev}:${cst.ino}`;
      const first = s.links.get(id);
      if (first !== undefined) {
        await link(first, to);
        continue;
      }
      s.links.set(id, to);
    }
    switch (type) {
      case S_IFREG:
        await copyFile(from, to, fsConstants.COPYFILE_FICLONE);
        break;
      case S_IFLNK:
        await symlink(await readlink(from), to);
        break;
      case S_IFCHR:
      case S_IFBLK:
      case S_IFIFO:
      case S_IFSOCK:
        mknod(to, type | 0o600, cst.rdev);
        break;
      default:
        throw new Error(`copyTree: unknown file type ${type.toString(8)} at ${from}`);
    }
    await meta(from, to, cst, type, s);
  }
  await meta(src, dst, st, S_IFDIR, s);
}

async function meta(from: string, to: string, st: BigIntStats, type: number, s: State): Promise<void> {
  if (s.owners) await lchown(to, Number(st.uid), Number(st.gid));
  if (type !== S_IFLNK) await chmod(to, Number(st.mode) & 0o7777);
  for (const [key, value] of lgetxattrs(from)) lsetxattr(to, key, value);
  lutimesNs(to, st.atimeNs, st.mtimeNs);
}
