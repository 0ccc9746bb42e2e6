/**
 * The few Linux syscalls the unpacker needs that Node's fs lacks (or lacks in an fd-relative form),
 * bound through koffi. Every call is synchronous; callers run them on a worker thread (see pool.ts)
 * or in small slices. A failing call throws a Node-style error (`code` = errno name, `errno`,
 * `syscall`, `path`) so callers can branch on `err.code` like they would for fs errors.
 *
 * Prototypes are declared non-variadic (openat's mode, syscall's arguments): on the Linux ABIs we
 * run on (x86_64, aarch64) integer arguments of a variadic callee travel the same way.
 */
import { constants as osConstants } from 'node:os';
import { fail, koffi, libc, lsetxattr } from '../sys/libc.js';

export { isErrno, lgetxattrs, type SysError } from '../sys/libc.js';

export const O_RDONLY = 0;
export const O_WRONLY = 0o1;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOCTTY = 0o400;
export const O_NONBLOCK = 0o4000;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;

export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;

export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_IN_ROOT = 0x10;

import { S_IFDIR, S_IFLNK, S_IFMT } from '../sys/file-types.js';
export { S_IFMT, S_IFSOCK, S_IFLNK, S_IFREG, S_IFBLK, S_IFDIR, S_IFCHR, S_IFIFO } from '../sys/file-types.js';

const SYS_openat2 = 437; // the same number on every architecture (allocated after the table unification)

const openHow = koffi.struct('tsd_open_how', { flags: 'uint64', mode: 'uint64', resolve: 'uint64' });
const timespecPair = koffi.struct('tsd_timespec_pair', {
  atimeSec: 'int64',
  atimeNsec: 'int64',
  mtimeSec: 'int64',
  mtimeNsec: 'int64',
});

const c = {
  openat2: libc.func('long syscall(long nr, int dirfd, const char *path, tsd_open_how *how, size_t size)'),
  close: libc.func('int close(int fd)'),
  openat: libc.func('int openat(int dirfd, const char *path, int flags, uint32_t mode)'),
  mkdirat: libc.func('int mkdirat(int dirfd, const char *path, uint32_t mode)'),
  symlinkat: libc.func('int symlinkat(const char *target, int dirfd, const char *path)'),
  linkat: libc.func('int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)'),
  mknodat: libc.func('int mknodat(int dirfd, const char *path, uint32_t mode, uint64_t dev)'),
  fchownat: libc.func('int fchownat(int dirfd, const char *path, uint32_t uid, uint32_t gid, int flags)'),
  fchown: libc.func('int fchown(int fd, uint32_t uid, uint32_t gid)'),
  fchmod: libc.func('int fchmod(int fd, uint32_t mode)'),
  fchmodat: libc.func('int fchmodat(int dirfd, const char *path, uint32_t mode, int flags)'),
  utimensat: libc.func('int utimensat(int dirfd, const char *path, const tsd_timespec_pair *times, int flags)'),
  futimens: libc.func('int futimens(int fd, const tsd_timespec_pair *times)'),
  unlinkat: libc.func('int unlinkat(int dirfd, const char *path, int flags)'),
  readlinkat: libc.func('long readlinkat(int dirfd, const char *path, _Out_ uint8_t *buf, size_t size)'),
  statx: libc.func('int statx(int dirfd, const char *path, int flags, uint32_t mask, _Out_ uint8_t *buf)'),
  fsetxattr: libc.func('int fsetxattr(int fd, const char *name, const uint8_t *value, size_t size, int flags)'),
};

/** openat2(2) with `resolve` flags; throws ENOSYS on kernels before 5.6 (or under old seccomp profiles). */
export function openat2(dirfd: number, path: string, flags: number, resolve: number, mode = 0): number {
  const fd = Number(c.openat2(SYS_openat2, dirfd, path, { flags: flags | O_CLOEXEC, mode, resolve }, 24));
  return fd < 0 ? fail('openat2', path) : fd;
}

export function openat(dirfd: number, path: string, flags: number, mode = 0): number {
  const fd = c.openat(dirfd, path, flags | O_CLOEXEC, mode) as number;
  return fd < 0 ? fail('openat', path) : fd;
}

/** Close an fd opened here (Node's fs.closeSync warns about fds it did not open, in workers). */
export function close(fd: number): void {
  if (c.close(fd) !== 0) fail('close');
}

export function mkdirat(dirfd: number, name: string, mode: number): void {
  if (c.mkdirat(dirfd, name, mode) !== 0) fail('mkdirat', name);
}

export function symlinkat(target: string, dirfd: number, name: string): void {
  if (c.symlinkat(target, dirfd, name) !== 0) fail('symlinkat', name);
}

/** linkat without AT_SYMLINK_FOLLOW: a link to a symlink links the symlink itself. */
export function linkat(olddirfd: number, oldname: string, newdirfd: number, newname: string): void {
  if (c.linkat(olddirfd, oldname, newdirfd, newname, 0) !== 0) fail('linkat', newname);
}

export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major >>> 0);
  const mi = BigInt(minor >>> 0);
  return (mi & 0xffn) | ((ma & 0xfffn) << 8n) | ((mi & ~0xffn) << 12n) | ((ma & ~0xfffn) << 32n);
}

export function mknodat(dirfd: number, name: string, mode: number, dev: bigint): void {
  if (c.mknodat(dirfd, name, mode, dev) !== 0) fail('mknodat', name);
}

/** Change the owner of `name` in `dirfd` without following a final symlink. */
export function lchownat(dirfd: number, name: string, uid: number, gid: number): void {
  if (c.fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) !== 0) fail('fchownat', name);
}

export function fchown(fd: number, uid: number, gid: number): void {
  if (c.fchown(fd, uid, gid) !== 0) fail('fchown');
}

export function fchmod(fd: number, mode: number): void {
  if (c.fchmod(fd, mode) !== 0) fail('fchmod');
}

/** chmod of a node we have just created (never a symlink: Linux cannot chmod those). */
export function fchmodat(dirfd: number, name: string, mode: number): void {
  if (c.fchmodat(dirfd, name, mode, 0) !== 0) fail('fchmodat', name);
}

export interface Times {
  atime: number; // seconds, fractional allowed
  mtime: number;
}

function split(t: number): [number, number] {
  const sec = Math.floor(t);
  return [sec, Math.min(999_999_999, Math.max(0, Math.round((t - sec) * 1e9)))];
}

/** Set times on `name` in `dirfd` (no follow), or on `dirfd` itself when `name` is null. */
export function utimensat(dirfd: number, name: string | null, times: Times): void {
  const [as, an] = split(times.atime);
  const [ms, mn] = split(times.mtime);
  const arg = { atimeSec: as, atimeNsec: an, mtimeSec: ms, mtimeNsec: mn };
  // glibc's utimensat refuses a NULL path; futimens is the fd form.
  const rc = name === null ? c.futimens(dirfd, arg) : c.utimensat(dirfd, name, arg, AT_SYMLINK_NOFOLLOW);
  if (rc !== 0) fail(name === null ? 'futimens' : 'utimensat', name ?? undefined);
}

export function unlinkat(dirfd: number, name: string, dir: boolean): void {
  if (c.unlinkat(dirfd, name, dir ? AT_REMOVEDIR : 0) !== 0) fail('unlinkat', name);
}

export function readlinkat(dirfd: number, name: string): string {
  const buf = Buffer.alloc(4096);
  const n = Number(c.readlinkat(dirfd, name, buf, buf.length));
  if (n < 0) fail('readlinkat', name);
  return buf.subarray(0, n).toString('utf8');
}

export interface Stat {
  mode: number; // type and permission bits
  uid: number;
  gid: number;
  nlink: number;
  ino: bigint;
  size: number;
  isDir: boolean;
  isSymlink: boolean;
}

const STATX_BASIC_STATS = 0x7ff;

/** statx of `name` in `dirfd` without following a final symlink; undefined when it does not exist. */
export function lstatat(dirfd: number, name: string): Stat | undefined {
  const buf = Buffer.alloc(256);
  if (c.statx(dirfd, name, AT_SYMLINK_NOFOLLOW | (name === '' ? AT_EMPTY_PATH : 0), STATX_BASIC_STATS, buf) !== 0) {
    const errno = koffi.errno();
    if (errno === osConstants.errno.ENOENT) return undefined;
    fail('statx', name);
  }
  const mode = buf.readUInt16LE(28);
  return {
    mode,
    uid: buf.readUInt32LE(20),
    gid: buf.readUInt32LE(24),
    nlink: buf.readUInt32LE(16),
    ino: buf.readBigUInt64LE(32),
    size: Number(buf.readBigUInt64LE(40)),
    isDir: (mode & S_IFMT) === S_IFDIR,
    isSymlink: (mode & S_IFMT) === S_IFLNK,
  };
}

export function fsetxattr(fd: number, name: string, value: Uint8Array): void {
  if (c.fsetxattr(fd, name, value, value.length, 0) !== 0) fail('fsetxattr', name);
}

/**
 * Set an xattr on `name` inside the directory `dirfd`, without following `name` if it is a
 * symlink. The directory is reached through its /proc/self/fd link (a confined, already open
 * directory); only the final, single component is looked up, and lsetxattr does not follow it.
 */
export function lsetxattrat(dirfd: number, name: string, key: string, value: Uint8Array): void {
  if (name.includes('/')) throw new Error(`lsetxattrat: "${name}" is not a single component`);
  const path = `/proc/self/fd/${dirfd}/${name}`;
  lsetxattr(path, key, value, name);
}

