/**
 * The init (container mode) and exec processes, started by the shim: `node init.js`, with the
 * request (protocol.ts InitRequest) as a JSON line on fd 4 and a pipe back on fd 3 (close-on-exec:
 * a successful execve closes it with nothing more written; a failure writes {message, exitCode}).
 * With a TTY the init asks for its terminal on fd 3 ({"pty":true}) once the container's devpts
 * exists, and reads the answer ({"pty":<n>}) on fd 4.
 *
 * Container mode: the shim has unshared the pid (and uts, ipc) namespaces, so this process is
 * PID 1 of the new pid namespace. It enters its network namespace (a new one, the host's, or a
 * given one), unshares its own mount namespace (its pivot_root must not move the shim's root),
 * builds the filesystem (rootfs.ts), sets the hostname, joins the cgroup and execs the command
 * (exec-process.ts).
 *
 * Exec mode: started by the shim into the container's pid namespace (the shim's children land
 * there); joins the init's ipc, uts, net, cgroup and mount namespaces through /proc/<pid>/ns/*,
 * joins the cgroup, and execs the command.
 *
 * Everything after a namespace change is a synchronous call on the main thread: libuv's worker
 * threads stay in the old namespaces.
 */
import { closeSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { execContainerProcess, StartError } from './exec-process.js';
import type { ContainerInitRequest, ExecInitRequest, InitFailure, InitRequest } from './protocol.js';
import { setupRootfs, useTerminal } from './rootfs.js';
import * as sys from './sys-runtime.js';

const FAILURE_FD = 3;
const REQUEST_FD = 4;

let pending = Buffer.alloc(0);

/** One line from the shim on fd 4 (blocking: nothing else runs in this process meanwhile). */
function readLine(): string {
  const buf = Buffer.alloc(64 * 1024);
  for (;;) {
    const nl = pending.indexOf(0x0a);
    if (nl >= 0) {
      const line = pending.subarray(0, nl).toString('utf8');
      pending = pending.subarray(nl + 1);
      return line;
    }
    let n: number;
    try {
      n = readSync(REQUEST_FD, buf, 0, buf.length, null);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      throw err;
    }
    if (n === 0) throw new Error('the shim closed the request pipe');
    pending = Buffer.concat([pending, buf.subarray(0, n)]);
  }
}

/** Tell the shim something on fd 3 (one JSON line). */
function tellShim(message: object): void {
  writeSync(FAILURE_FD, `${JSON.stringify(message)}\n`);
}

function joinCgroup(files: string[]): void {
  // "0" is the writing thread itself (its pid in our namespace would be 1, not the host's), the
  // main one, which execs (Cgroup.joinFiles).
  for (const f of files) {
    const fd = openSync(f, 'w');
    try {
      writeSync(fd, '0');
    } finally {
      closeSync(fd);
    }
  }
}

async function container(req: ContainerInitRequest): Promise<never> {
  // The network namespace is chosen here, not by the shim, so a warm shim suits any container.
  if (req.network.mode === 'none') sys.unshare(sys.CLONE_NEWNET);
  else if (req.network.mode === 'netns') {
    const fd = sys.open(req.network.path, sys.O_CLOEXEC);
    sys.setns(fd, sys.CLONE_NEWNET);
    sys.close(fd);
  }
  sys.unshare(sys.CLONE_NEWNS);
  // Opened before pivot_root hides the host's /sys/fs/cgroup.
  const cgroupFds = req.cgroupProcs.map((f) => openSync(f, 'w'));
  await setupRootfs(req);
  if (req.process.tty) {
    // The terminal lives in the container's devpts: the shim opens its master from outside.
    tellShim({ pty: true });
    const reply = JSON.parse(readLine()) as { pty?: number; error?: string };
    if (reply.pty === undefined) throw new Error(`no terminal: ${reply.error ?? 'no answer'}`);
    useTerminal(reply.pty);
  } else if (!req.openStdin) nullStdin();
  sys.sethostname(req.hostname);
  if (req.network.mode === 'none') sys.setLinkUp('lo');
  // This (main) thread joins: the one that execs (Cgroup.joinFiles).
  for (const fd of cgroupFds) {
    writeSync(fd, '0');
    closeSync(fd);
  }
  if (req.cgroupNamespace) sys.unshare(sys.CLONE_NEWCGROUP);
  return execContainerProcess(req.process);
}

/** fd 0 from the container's own /dev/null (docker's stdin without -i). */
function nullStdin(): void {
  const devNull = sys.open('/dev/null', sys.O_RDWR | sys.O_CLOEXEC);
  sys.dup2(devNull, 0);
  sys.close(devNull);
}

const NAMESPACES: Array<[string, number]> = [
  ['ipc', sys.CLONE_NEWIPC],
  ['uts', sys.CLONE_NEWUTS],
  ['net', sys.CLONE_NEWNET],
  ['cgroup', sys.CLONE_NEWCGROUP],
  ['mnt', sys.CLONE_NEWNS],
];

function exec(req: ExecInitRequest): never {
  const same = (ns: string): boolean => {
    try {
      return statSync(`/proc/self/ns/${ns}`).ino === statSync(`/proc/${req.targetPid}/ns/${ns}`).ino;
    } catch {
      return false;
    }
  };
  if (!same('pid')) throw new StartError('exec: the process did not start in the container\'s pid namespace', 128);
  const joins = NAMESPACES.filter(([ns]) => !same(ns)).map(([ns, flag]) => ({ ns, flag, fd: sys.open(`/proc/${req.targetPid}/ns/${ns}`, sys.O_CLOEXEC) }));
  joinCgroup(req.cgroupProcs);
  for (const j of joins) {
    // A thread that shares its fs_struct (all of Node's threads do) cannot enter a mount namespace.
    if (j.flag === sys.CLONE_NEWNS) sys.unshare(sys.CLONE_FS);
    sys.setns(j.fd, j.flag);
    sys.close(j.fd);
  }
  if (!req.process.tty && !req.openStdin) nullStdin();
  return execContainerProcess(req.process);
}

function report(err: unknown): void {
  const failure: InitFailure = err instanceof StartError ? { message: err.message, exitCode: err.exitCode } : { message: (err as Error).message ?? String(err), exitCode: 128 };
  try {
    tellShim(failure);
  } catch {
    /* the shim is gone */
  }
  process.exit(failure.exitCode);
}

try {
  sys.setCloseOnExec(FAILURE_FD, true);
  sys.setCloseOnExec(REQUEST_FD, true);
  // Loaded and waiting: what a warm shim tells its pool.
  tellShim({ ready: true });
  const req = JSON.parse(readLine()) as InitRequest;
  if (req.mode === 'container') await container(req);
  else exec(req);
} catch (err) {
  report(err);
}
