/**
 * The Linux calls the snapshotters need that Node's fs lacks, bound through koffi: mount(2),
 * umount2(2), the new mount API (fsopen/fsconfig/fsmount/move_mount) for overlays whose option
 * string would not fit in one page, mknodat(2), utimensat(2) with nanoseconds, and xattrs on
 * paths without following symlinks. Every call is synchronous and throws a Node-style error
 * (`code` = errno name, `errno`, `syscall`, `path`).
 */
import { fail, koffi, libc } from '../sys/libc.js';

export { errnoCode, lgetxattrs, lsetxattr, type SysError } from '../sys/libc.js';

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_SYNCHRONOUS = 0x10;
export const MS_REMOUNT = 0x20;
export const MS_MANDLOCK = 0x40;
export const MS_DIRSYNC = 0x80;
export const MS_NOATIME = 0x400;
export const MS_NODIRATIME = 0x800;
export const MS_BIND = 0x1000;
export const MS_REC = 0x4000;
export const MS_UNBINDABLE = 1 << 17;
export const MS_PRIVATE = 1 << 18;
export const MS_SLAVE = 1 << 19;
export const MS_SHARED = 1 << 20;
export const MS_RELATIME = 1 << 21;
export const MS_STRICTATIME = 1 << 24;

export const MNT_FORCE = 1;
export const MNT_DETACH = 2;

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;

// The new mount API: the same syscall numbers on every architecture (allocated after the unification).
const SYS_move_mount = 429;
const SYS_fsopen = 430;
const SYS_fsconfig = 431;
const SYS_fsmount = 432;
const FSOPEN_CLOEXEC = 1;
const FSMOUNT_CLOEXEC = 1;
const FSCONFIG_SET_FLAG = 0;
const FSCONFIG_SET_STRING = 1;
const FSCONFIG_CMD_CREATE = 6;
const MOVE_MOUNT_F_EMPTY_PATH = 4;
export const MOUNT_ATTR_RDONLY = 0x1;
export const MOUNT_ATTR_NOSUID = 0x2;
export const MOUNT_ATTR_NODEV = 0x4;
export const MOUNT_ATTR_NOEXEC = 0x8;

const timespecPair = koffi.struct('tsd_snap_timespec_pair', {
  atimeSec: 'int64',
  atimeNsec: 'int64',
  mtimeSec: 'int64',
  mtimeNsec: 'int64',
});
void timespecPair;

const c = {
  mount: libc.func('int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)'),
  umount2: libc.func('int umount2(const char *target, int flags)'),
  close: libc.func('int close(int fd)'),
  mknodat: libc.func('int mknodat(int dirfd, const char *path, uint32_t mode, uint64_t dev)'),
  utimensat: libc.func('int utimensat(int dirfd, const char *path, const tsd_snap_timespec_pair *times, int flags)'),
  fsopen: libc.func('long syscall(long nr, const char *fsname, unsigned int flags)'),
  fsconfig: libc.func('long syscall(long nr, int fd, unsigned int cmd, const char *key, const char *value, int aux)'),
  fsmount: libc.func('long syscall(long nr, int fd, unsigned int flags, unsigned int attrs)'),
  moveMount: libc.func('long syscall(long nr, int fromfd, const char *frompath, int tofd, const char *topath, unsigned int flags)'),
};

export function mount(source: string, target: string, fstype: string | null, flags: number, data: string | null): void {
  if (c.mount(source, target, fstype, flags, data) !== 0) fail('mount', target);
}

export function umount2(target: string, flags: number): void {
  if (c.umount2(target, flags) !== 0) fail('umount2', target);
}

/**
 * Mount a filesystem through fsopen/fsconfig/fsmount/move_mount. Each option is its own
 * fsconfig call, so no single page limits the total (overlay's `lowerdir+`, kernel >= 6.8).
 * `options` are [key, value] pairs; a null value is a flag.
 */
export function fsMount(fstype: string, source: string, options: Array<[string, string | null]>, attrs: number, target: string): void {
  const fsfd = Number(c.fsopen(SYS_fsopen, fstype, FSOPEN_CLOEXEC));
  if (fsfd < 0) fail('fsopen', fstype);
  let mfd = -1;
  try {
    if (Number(c.fsconfig(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, 'source', source, 0)) < 0) fail('fsconfig', 'source');
    for (const [key, value] of options) {
      const rc = value === null
        ? Number(c.fsconfig(SYS_fsconfig, fsfd, FSCONFIG_SET_FLAG, key, null, 0))
        : Number(c.fsconfig(SYS_fsconfig, fsfd, FSCONFIG_SET_STRING, key, value, 0));
      if (rc < 0) fail('fsconfig', key);
    }
    if (Number(c.fsconfig(SYS_fsconfig, fsfd, FSCONFIG_CMD_CREATE, null, null, 0)) < 0) fail('fsconfig', 'create');
    mfd = Number(c.fsmount(SYS_fsmount, fsfd, FSMOUNT_CLOEXEC, attrs));
    if (mfd < 0) fail('fsmount', fstype);
    if (Number(c.moveMount(SYS_move_mount, mfd, '', AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH)) < 0) fail('move_mount', target);
  } finally {
    if (mfd >= 0) c.close(mfd);
    c.close(fsfd);
  }
}

export function mknod(path: string, mode: number, rdev: bigint): void {
  if (c.mknodat(AT_FDCWD, path, mode, rdev) !== 0) fail('mknodat', path);
}

/** Set atime and mtime (nanoseconds since the epoch) without following a final symlink. */
export function lutimesNs(path: string, atimeNs: bigint, mtimeNs: bigint): void {
  const arg = {
    atimeSec: atimeNs / 1_000_000_000n,
    atimeNsec: atimeNs % 1_000_000_000n,
    mtimeSec: mtimeNs / 1_000_000_000n,
    mtimeNsec: mtimeNs % 1_000_000_000n,
  };
  if (c.utimensat(AT_FDCWD, path, arg, AT_SYMLINK_NOFOLLOW) !== 0) fail('utimensat', path);
}


