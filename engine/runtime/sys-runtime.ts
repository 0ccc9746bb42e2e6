/**
 * The Linux calls the container runtime needs that Node lacks, bound through koffi: namespaces
 * (unshare, setns), pivot_root, hostname, credentials (setgroups, setres[ug]id), capabilities
 * (capset, prctl), execve, fd flags, and pseudo-terminals. Every call is synchronous and runs on
 * the calling thread, which matters after unshare/setns: only the main thread is in the new
 * namespaces. Errors are Node-style (`code` = errno name), from engine/sys/libc.ts.
 *
 * Prototypes of variadic libc functions (prctl, fcntl, ioctl, syscall) are declared with fixed
 * integer or pointer arguments: on x86_64 and aarch64 those travel the same way.
 */
import { fail, koffi, libc } from '../sys/libc.js';

export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_FS = 0x00000200;

const F_GETFD = 1;
const F_SETFD = 2;
const FD_CLOEXEC = 1;

const PR_SET_NO_NEW_PRIVS = 38;
const PR_CAPBSET_READ = 23;
const PR_CAPBSET_DROP = 24;
const PR_CAP_AMBIENT = 47;
const PR_CAP_AMBIENT_CLEAR_ALL = 4;
const PR_SET_PDEATHSIG = 1;

const TIOCSCTTY = 0x540e;
const TIOCSWINSZ = 0x5414;

const LINUX_CAPABILITY_VERSION_3 = 0x20080522;

/** pivot_root has no glibc wrapper. */
const SYS_pivot_root = process.arch === 'arm64' ? 41 : 155;
/** The credential calls, made directly: see setgroups(). */
const SYS_setgroups = process.arch === 'arm64' ? 159 : 116;
const SYS_setresuid = process.arch === 'arm64' ? 147 : 117;
const SYS_setresgid = process.arch === 'arm64' ? 149 : 119;

const prototypes = {
  unshare: 'int unshare(int flags)',
  setns: 'int setns(int fd, int nstype)',
  sethostname: 'int sethostname(const char *name, size_t len)',
  pivotRoot: 'long syscall(long nr, const char *newRoot, const char *putOld)',
  chdir: 'int chdir(const char *path)',
  setgroups: 'long syscall(long nr, size_t size, const uint32_t *list)',
  setresid: 'long syscall(long nr, uint32_t r, uint32_t e, uint32_t s)',
  capset: 'int capset(tsd_rt_cap_header *hdr, const tsd_rt_cap_data *data)',
  prctl: 'int prctl(int option, unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5)',
  fcntl: 'int fcntl(int fd, int cmd, int arg)',
  execve: 'int execve(const char *path, const char **argv, const char **envp)',
  umask: 'uint32_t umask(uint32_t mask)',
  ioctlInt: 'int ioctl(int fd, unsigned long req, long arg)',
  ioctlSetWinsize: 'int ioctl(int fd, unsigned long req, const tsd_rt_winsize *ws)',
  ioctlBuf: 'int ioctl(int fd, unsigned long req, _Inout_ uint8_t *arg)',
  dup2: 'int dup2(int from, int to)',
  pipe2: 'int pipe2(_Out_ uint8_t *fds, int flags)',
  open: 'int open(const char *path, int flags, uint32_t mode)',
  close: 'int close(int fd)',
  openTree: 'long syscall(long nr, int dirfd, const char *path, unsigned int flags)',
  moveMount: 'long syscall(long nr, int fromfd, const char *frompath, int tofd, const char *topath, unsigned int flags)',
  socket: 'int socket(int domain, int type, int protocol)',
  ioctlIfreq: 'int ioctl(int fd, unsigned long req, _Inout_ uint8_t *ifreq)',
} as const;

type NativeFunction = ReturnType<typeof libc.func>;

let structsDeclared = false;

/** The structs some prototypes name, declared with the first function that needs them. */
function declareStructs(): void {
  if (structsDeclared) return;
  structsDeclared = true;
  koffi.struct('tsd_rt_cap_header', { version: 'uint32', pid: 'int' });
  // Two __user_cap_data_struct entries (capabilities 0-31 and 32-63), flattened.
  koffi.struct('tsd_rt_cap_data', {
    effective0: 'uint32',
    permitted0: 'uint32',
    inheritable0: 'uint32',
    effective1: 'uint32',
    permitted1: 'uint32',
    inheritable1: 'uint32',
  });
  koffi.struct('tsd_rt_winsize', { rows: 'uint16', cols: 'uint16', xpixel: 'uint16', ypixel: 'uint16' });
}

/**
 * Each function is bound on its first call: a process uses a few of them, and the shim and the
 * init would otherwise parse every prototype during their start-up.
 */
const c = {} as Record<keyof typeof prototypes, NativeFunction>;
for (const [name, prototype] of Object.entries(prototypes)) {
  Object.defineProperty(c, name, {
    configurable: true,
    get(): NativeFunction {
      if (prototype.includes('tsd_rt_')) declareStructs();
      const fn = libc.func(prototype);
      Object.defineProperty(c, name, { value: fn });
      return fn;
    },
  });
}

export function unshare(flags: number): void {
  if (c.unshare(flags) !== 0) fail('unshare');
}

export function setns(fd: number, nstype: number): void {
  if (c.setns(fd, nstype) !== 0) fail('setns');
}

export function sethostname(name: string): void {
  const b = Buffer.from(name);
  if (c.sethostname(name, b.length) !== 0) fail('sethostname', name);
}

export function pivotRoot(newRoot: string, putOld: string): void {
  if (Number(c.pivotRoot(SYS_pivot_root, newRoot, putOld)) !== 0) fail('pivot_root', newRoot);
}

/** chdir(2) of the calling thread (process.chdir would also update Node's cached cwd; not needed here). */
export function chdir(path: string): void {
  if (c.chdir(path) !== 0) fail('chdir', path);
}

/**
 * setgroups, setresgid and setresuid change the calling thread's credentials only, as capset
 * does: the system calls themselves, not glibc's wrappers, which make every thread of the process
 * change too (signalling each of Node's ~10 threads and waiting for it: milliseconds). That is
 * all an execve from this thread needs; the other threads end with the execve.
 */
export function setgroups(gids: number[]): void {
  const list = new Uint32Array(gids);
  if (Number(c.setgroups(SYS_setgroups, list.length, list)) !== 0) fail('setgroups');
}

export function setresgid(gid: number): void {
  if (Number(c.setresid(SYS_setresgid, gid, gid, gid)) !== 0) fail('setresgid');
}

export function setresuid(uid: number): void {
  if (Number(c.setresid(SYS_setresuid, uid, uid, uid)) !== 0) fail('setresuid');
}

export interface CapSets {
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
}

const lo = (v: bigint): number => Number(v & 0xffffffffn);
const hi = (v: bigint): number => Number((v >> 32n) & 0xffffffffn);


export function capset(sets: CapSets): void {
  const d = {
    effective0: lo(sets.effective),
    permitted0: lo(sets.permitted),
    inheritable0: lo(sets.inheritable),
    effective1: hi(sets.effective),
    permitted1: hi(sets.permitted),
    inheritable1: hi(sets.inheritable),
  };
  if (c.capset({ version: LINUX_CAPABILITY_VERSION_3, pid: 0 }, d) !== 0) fail('capset');
}

export function capbsetRead(cap: number): boolean {
  const r = c.prctl(PR_CAPBSET_READ, cap, 0, 0, 0) as number;
  if (r < 0) fail('prctl(PR_CAPBSET_READ)');
  return r === 1;
}

export function capbsetDrop(cap: number): void {
  if (c.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) !== 0) fail('prctl(PR_CAPBSET_DROP)');
}

export function clearAmbientCaps(): void {
  if (c.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) !== 0) fail('prctl(PR_CAP_AMBIENT)');
}


export function setNoNewPrivs(): void {
  if (c.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) !== 0) fail('prctl(PR_SET_NO_NEW_PRIVS)');
}


/** The signal this process gets when its parent dies (0: none). */
export function setParentDeathSignal(signum: number): void {
  if (c.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0) !== 0) fail('prctl(PR_SET_PDEATHSIG)');
}

export function setCloseOnExec(fd: number, on: boolean): void {
  const flags = c.fcntl(fd, F_GETFD, 0) as number;
  if (flags < 0) fail('fcntl(F_GETFD)');
  const next = on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC;
  if (c.fcntl(fd, F_SETFD, next) !== 0) fail('fcntl(F_SETFD)');
}

/** Replace this process. Returns only by throwing. */
export function execve(path: string, argv: string[], env: string[]): never {
  c.execve(path, [...argv, null], [...env, null]);
  return fail('execve', path);
}

export function umask(mask: number): number {
  return c.umask(mask) as number;
}


/** Make the terminal on `fd` the controlling terminal of this (session-leading) process. */
export function setControllingTerminal(fd: number): void {
  if (c.ioctlInt(fd, TIOCSCTTY, 0) !== 0) fail('ioctl(TIOCSCTTY)');
}

export interface WindowSize {
  rows: number;
  cols: number;
}

export function setWindowSize(fd: number, size: WindowSize): void {
  if (c.ioctlSetWinsize(fd, TIOCSWINSZ, { rows: size.rows, cols: size.cols, xpixel: 0, ypixel: 0 }) !== 0) fail('ioctl(TIOCSWINSZ)');
}

export const O_RDWR = 0o2;
export const O_NOCTTY = 0o400;
export const O_CLOEXEC = 0o2000000;
export const O_WRONLY = 0o1;
export const O_PATH = 0o10000000;

const TIOCGPTN = 0x80045430;
const TIOCSPTLCK = 0x40045431;
const TIOCGPTPEER = 0x5441;

/**
 * A new pseudo-terminal from the ptmx of a devpts instance (a container's own:
 * `/proc/<pid>/root/dev/pts/ptmx`): the master fd (close-on-exec) and the slave's number in that
 * instance. No grantpt/ptsname: glibc would look the slave up in *our* /dev/pts.
 */
export function openPtyAt(ptmx: string): { master: number; index: number } {
  const master = open(ptmx, O_RDWR | O_NOCTTY | O_CLOEXEC);
  try {
    const arg = Buffer.alloc(4);
    if (c.ioctlBuf(master, TIOCSPTLCK, arg) !== 0) fail('ioctl(TIOCSPTLCK)', ptmx);
    if (c.ioctlBuf(master, TIOCGPTN, arg) !== 0) fail('ioctl(TIOCGPTN)', ptmx);
    return { master, index: arg.readUInt32LE(0) };
  } catch (err) {
    c.close(master);
    throw err;
  }
}

/** Open the slave of a pty master without a path lookup (close-on-exec, not a controlling tty). */
export function openPtyPeer(master: number): number {
  const fd = c.ioctlInt(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC) as number;
  return fd < 0 ? fail('ioctl(TIOCGPTPEER)') : fd;
}

/** A real pipe (not the socketpair Node's spawn makes: a program may open /dev/stdout), both ends close-on-exec. */
export function pipe(): { read: number; write: number } {
  const fds = Buffer.alloc(8);
  if ((c.pipe2(fds, O_CLOEXEC) as number) !== 0) fail('pipe2');
  return { read: fds.readInt32LE(0), write: fds.readInt32LE(4) };
}

export function dup2(from: number, to: number): void {
  if ((c.dup2(from, to) as number) < 0) fail('dup2');
}

export function open(path: string, flags: number, mode = 0): number {
  const fd = c.open(path, flags, mode) as number;
  return fd < 0 ? fail('open', path) : fd;
}

export function close(fd: number): void {
  if (c.close(fd) !== 0) fail('close');
}


const AF_INET = 2;
const SOCK_DGRAM = 2;
const SIOCGIFFLAGS = 0x8913;
const SIOCSIFFLAGS = 0x8914;
const IFF_UP = 0x1;

/** Bring a network interface up (`ip link set NAME up`) in this thread's network namespace. */
export function setLinkUp(name: string): void {
  const sock = c.socket(AF_INET, SOCK_DGRAM | O_CLOEXEC, 0) as number;
  if (sock < 0) fail('socket');
  try {
    const ifreq = Buffer.alloc(40); // struct ifreq: char ifr_name[16]; short ifr_flags; ...
    ifreq.write(name, 0, 15, 'utf8');
    if (c.ioctlIfreq(sock, SIOCGIFFLAGS, ifreq) !== 0) fail('ioctl(SIOCGIFFLAGS)', name);
    ifreq.writeInt16LE(ifreq.readInt16LE(16) | IFF_UP, 16);
    if (c.ioctlIfreq(sock, SIOCSIFFLAGS, ifreq) !== 0) fail('ioctl(SIOCSIFFLAGS)', name);
  } finally {
    c.close(sock);
  }
}

// The new mount API (same numbers on every architecture).
const SYS_open_tree = 428;
const SYS_move_mount = 429;
const OPEN_TREE_CLONE = 1;
const OPEN_TREE_CLOEXEC = O_CLOEXEC;
const AT_RECURSIVE = 0x8000;
const AT_FDCWD = -100;
const MOVE_MOUNT_F_EMPTY_PATH = 4;

/**
 * A detached copy of the mount at `path` (a bind mount not attached anywhere yet, `recursive`:
 * with its submounts), as an fd. It stays usable after pivot_root has detached the old root,
 * which a plain bind from a host path is not (the source must be in the current namespace).
 */
export function cloneMount(path: string, recursive: boolean): number {
  const fd = Number(c.openTree(SYS_open_tree, AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0)));
  return fd < 0 ? fail('open_tree', path) : fd;
}

/** Attach a mount fd from cloneMount at `target`. */
export function attachMount(fd: number, target: string): void {
  if (Number(c.moveMount(SYS_move_mount, fd, '', AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH)) !== 0) fail('move_mount', target);
}
