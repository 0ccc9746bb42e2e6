/**
 * The few Linux calls networking needs that Node lacks, through the shared koffi libc: unshare(2)
 * and setns(2) for network namespaces (only ever called in short-lived child processes, never in
 * the engine itself), and the bind mounts that keep a namespace alive as a file.
 */
import { fail, libc } from '../sys/libc.js';

export { MNT_DETACH, MS_BIND, mount, umount2 } from '../snapshots/native.js';
export { errnoCode, isErrno } from '../sys/libc.js';

export const CLONE_NEWNET = 0x40000000;

const c = {
  unshare: libc.func('int unshare(int flags)'),
  setns: libc.func('int setns(int fd, int nstype)'),
};

/** Move the calling thread into a new namespace of each kind in `flags`. */
export function unshare(flags: number): void {
  if (c.unshare(flags) !== 0) fail('unshare');
}

/** Move the calling thread into the namespace an open nsfs file descriptor names. */
export function setns(fd: number, nstype: number): void {
  if (c.setns(fd, nstype) !== 0) fail('setns');
}
