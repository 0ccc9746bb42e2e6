/**
 * Spawning the init script (init.ts): all the shim needs before it loads anything else, so that
 * the init's Node start-up begins as early as possible (see shim.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as sys from './sys-runtime.js';

export const INIT_SCRIPT = fileURLToPath(new URL('./init.js', import.meta.url));

/**
 * The container's init, spawned before its request is known (that is what makes warm shims
 * possible): stdio are pipes, fd 3 reports back, fd 4 carries the request. With a TTY the init
 * asks for its terminal once it has mounted the container's devpts, and the shim opens the
 * master through /proc/<pid>/root/dev/pts/ptmx (so that inside, the terminal is /dev/pts/<n> of
 * the container's own devpts).
 */
export interface Spawned {
  child: ChildProcess;
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
}

/**
 * Spawn the init script with real pipes for 0, 1 and 2 (docker gives containers fifos; with
 * Node's socketpairs `open("/dev/stdout")` would fail with ENXIO), fd 3 back to the shim and
 * fd 4 for the request. `stdin: false` gives the child nothing on fd 0 but a closed pipe.
 */
export function spawnInit(detached: boolean): Spawned {
  const pipes = [sys.pipe(), sys.pipe(), sys.pipe()];
  let child: ChildProcess;
  try {
    const [i, o, e] = pipes as [{ read: number; write: number }, { read: number; write: number }, { read: number; write: number }];
    child = spawn(process.execPath, [INIT_SCRIPT], { stdio: [i.read, o.write, e.write, 'pipe', 'pipe'], detached, env: {} });
  } catch (err) {
    for (const p of pipes) {
      sys.close(p.read);
      sys.close(p.write);
    }
    throw err;
  }
  const [i, o, e] = pipes as [{ read: number; write: number }, { read: number; write: number }, { read: number; write: number }];
  for (const fd of [i.read, o.write, e.write]) sys.close(fd);
  const stdin = new Socket({ fd: i.write, readable: false, writable: true });
  stdin.on('error', () => {});
  return { child, stdin, stdout: new Socket({ fd: o.read, readable: true, writable: false }), stderr: new Socket({ fd: e.read, readable: true, writable: false }) };
}

export function spawnContainerInit(): Spawned {
  // detached: the init calls setsid(), as runc's does, so a pty can become its controlling terminal.
  return spawnInit(true);
}

