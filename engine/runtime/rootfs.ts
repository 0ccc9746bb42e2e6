/**
 * The container's filesystem, built by the init in its own mount namespace (synchronous calls
 * on the main thread only; the caller has unshared CLONE_NEWNS there):
 *
 *   1. the rootfs mounts (the snapshotter's Mount[] list) on a host directory, host-side files the
 *      container needs (bind sources, /etc/hosts...) opened as O_PATH fds, then pivot_root;
 *   2. from inside the new root: /proc, /dev (tmpfs with the standard nodes, devpts, shm,
 *      mqueue), /sys read-only, bind mounts (from the fds), tmpfs mounts, the /etc files, docker's
 *      masked and read-only paths, and finally a read-only remount of / when asked.
 *
 * Doing the inside work after pivot_root means every path the image controls (symlinks
 * included) resolves within the container's root: nothing can point the runtime at a host path.
 */
import { chmodSync, existsSync, fstatSync, lstatSync, mkdirSync, symlinkSync, writeFileSync, constants as fsConstants } from 'node:fs';
import { posix } from 'node:path';
import { mount as mountList, parseOptions } from '../snapshots/mount.js';
import * as m from '../snapshots/native.js';
import type { ContainerInitRequest } from './protocol.js';
import * as sys from './sys-runtime.js';

const { MS_BIND, MS_REC, MS_REMOUNT, MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_PRIVATE, MS_STRICTATIME } = m;

/** docker's masked paths: files get /dev/null bound over them, directories an empty read-only tmpfs. */
export const MASKED_PATHS = [
  '/proc/asound', '/proc/acpi', '/proc/interrupts', '/proc/kcore', '/proc/keys', '/proc/latency_stats',
  '/proc/timer_list', '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

const DEVICES: Array<{ name: string; major: number; minor: number }> = [
  { name: 'null', major: 1, minor: 3 },
  { name: 'zero', major: 1, minor: 5 },
  { name: 'full', major: 1, minor: 7 },
  { name: 'random', major: 1, minor: 8 },
  { name: 'urandom', major: 1, minor: 9 },
  { name: 'tty', major: 5, minor: 0 },
];

const DEV_LINKS: Array<[string, string]> = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
  ['pts/ptmx', '/dev/ptmx'],
  ['/proc/kcore', '/dev/core'],
];

/** Host-side mounts cloned before pivot_root (detached mount fds), attached from inside. */
interface HostMounts {
  binds: number[];
  etc: number[];
}

/** Steps 1 and 2 (see the file comment). On return the process is in the new root, at "/". */
export async function setupRootfs(req: ContainerInitRequest): Promise<void> {
  sys.chdir('/');
  m.mount('none', '/', null, MS_REC | MS_PRIVATE, null);
  // snapshots' mount(): its mount(2) calls run on this (the main) thread; the child it may start
  // for a very long overlay option string is forked from this thread, so it shares this namespace.
  await mountList(req.rootfs, req.rootfsDir);
  const host: HostMounts = {
    binds: req.binds.map((b) => sys.cloneMount(b.source, true)),
    etc: req.etcFiles.map((f) => sys.cloneMount(f.source, false)),
  };
  sys.chdir(req.rootfsDir);
  sys.pivotRoot('.', '.');
  m.umount2('.', m.MNT_DETACH);
  sys.chdir('/');

  mountProc();
  mountDev();
  mountSys();
  req.binds.forEach((b, i) => {
    const fd = host.binds[i]!;
    ensureTarget(b.destination, fstatSync(fd).isDirectory());
    sys.attachMount(fd, b.destination);
    if (b.readonly) m.mount('none', b.destination, null, MS_BIND | MS_REMOUNT | MS_RDONLY, null);
    m.mount('none', b.destination, null, propagationFlags(b.propagation), null);
  });
  for (const t of req.tmpfs) {
    ensureTarget(t.destination, true);
    const o = parseOptions(t.options);
    m.mount('tmpfs', t.destination, 'tmpfs', o.flags, o.data.join(',') || null);
  }
  req.etcFiles.forEach((f, i) => {
    ensureTarget(f.destination, false);
    sys.attachMount(host.etc[i]!, f.destination);
  });
  for (const fd of [...host.binds, ...host.etc]) sys.close(fd);
  maskPaths();
  ensureTarget(req.process.cwd, true);
  if (req.readonlyRootfs) m.mount('none', '/', null, MS_BIND | MS_REMOUNT | MS_RDONLY, null);
}

function propagationFlags(p: string): number {
  const table: Record<string, number> = {
    private: m.MS_PRIVATE,
    rprivate: m.MS_PRIVATE | MS_REC,
    shared: m.MS_SHARED,
    rshared: m.MS_SHARED | MS_REC,
    slave: m.MS_SLAVE,
    rslave: m.MS_SLAVE | MS_REC,
  };
  return table[p] ?? m.MS_PRIVATE | MS_REC;
}

/** mkdir -p (or create an empty file) inside the container's root; symlinks resolve inside it. */
function ensureTarget(path: string, dir: boolean): void {
  if (dir) {
    mkdirSync(path, { recursive: true, mode: 0o755 });
    return;
  }
  mkdirSync(posix.dirname(path), { recursive: true, mode: 0o755 });
  if (!existsSync(path)) writeFileSync(path, '', { mode: 0o644, flag: 'a' });
}

function mountProc(): void {
  ensureTarget('/proc', true);
  m.mount('proc', '/proc', 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC, null);
}

function mountDev(): void {
  ensureTarget('/dev', true);
  m.mount('tmpfs', '/dev', 'tmpfs', MS_NOSUID | MS_STRICTATIME, 'mode=755,size=65536k');
  for (const d of DEVICES) {
    m.mknod(`/dev/${d.name}`, fsConstants.S_IFCHR | 0o666, (BigInt(d.major) << 8n) | BigInt(d.minor));
    chmodSync(`/dev/${d.name}`, 0o666); // mknod's mode went through the umask
  }
  for (const [target, link] of DEV_LINKS) symlinkSync(target, link);
  mkdirSync('/dev/pts', { mode: 0o755 });
  m.mount('devpts', '/dev/pts', 'devpts', MS_NOSUID | MS_NOEXEC, 'newinstance,ptmxmode=0666,mode=0620,gid=5');
  mkdirSync('/dev/shm', { mode: 0o1777 });
  m.mount('shm', '/dev/shm', 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, 'mode=1777,size=65536k');
  mkdirSync('/dev/mqueue', { mode: 0o755 });
  m.mount('mqueue', '/dev/mqueue', 'mqueue', MS_NOSUID | MS_NODEV | MS_NOEXEC, null);
}

/**
 * Make the pty slave `/dev/pts/<n>` of the container's own devpts this process's stdio and
 * /dev/console (the shim holds the master, opened through /proc/<pid>/root/dev/pts/ptmx).
 */
export function useTerminal(index: number): void {
  const slave = `/dev/pts/${index}`;
  const fd = sys.open(slave, sys.O_RDWR | sys.O_NOCTTY | sys.O_CLOEXEC);
  for (const std of [0, 1, 2]) sys.dup2(fd, std);
  sys.close(fd);
  writeFileSync('/dev/console', '', { mode: 0o600 });
  m.mount(slave, '/dev/console', null, MS_BIND, null);
}

function mountSys(): void {
  ensureTarget('/sys', true);
  m.mount('sysfs', '/sys', 'sysfs', MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, null);
}

function maskPaths(): void {
  for (const path of MASKED_PATHS) {
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue; // not on this kernel
    }
    if (st.isDirectory()) m.mount('tmpfs', path, 'tmpfs', MS_RDONLY, null);
    else m.mount('/dev/null', path, null, MS_BIND, null);
  }
  for (const path of READONLY_PATHS) {
    if (!existsSync(path)) continue;
    m.mount(path, path, null, MS_BIND | MS_REC, null);
    m.mount('none', path, null, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, null);
  }
}
