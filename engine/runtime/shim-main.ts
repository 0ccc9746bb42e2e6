/**
 * The shim's work once its init is spawned (shim.ts, the entry, unshares and spawns it before
 * this module loads): the container's lifetime, the attach socket, exec sessions, state.json.
 */
import { openSync, unlinkSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import type { Readable } from 'node:stream';
import { setSessionNice } from './autogroup.js';
import { openCgroup, type Cgroup } from './cgroups.js';
import { CONTROL, encodeControl, encodeFrame, FrameDecoder, STDERR, STDIN, STDOUT, type FrameType } from './frames.js';
import { JsonFileLog, type LogStream } from './json-log.js';
import type { ClientControl, ClientHello, ContainerInitRequest, ExecRequest, ExitStatus } from './protocol.js';
import type { Spawned } from './init-spawn.js';
import { drained, execOutcome, exited, startContainer, startExecProcess, type Started } from './shim-processes.js';
import { signalNumber } from './signals.js';
import { ETC_MOUNTS, logFileName, processStartTime, readConfig, readState, ROOTFS_DIR, SHIM_LOG, SOCKET_FILE, writeState, type ContainerConfig, type ContainerState } from './state.js';
import type { ContainerSpec } from './spec.js';
import * as sys from './sys-runtime.js';

const CHANNEL_FD = 3;
/** After the init exits, how long output may still drain before the exit is recorded. */
const DRAIN_MS = 2000;

// Known once the shim has its container (at once, or when a warm shim is claimed).
let config: ContainerConfig;
let spec: ContainerSpec;
let cgroup: Cgroup;
let log: JsonFileLog;

// --- clients of the attach socket ---

interface AttachClient {
  socket: Socket;
  stdout: boolean;
  stderr: boolean;
  stdin: boolean;
}

const attached = new Set<AttachClient>();
/**
 * Output held for the first `fromStart` attach client (start with holdOutput: docker run's
 * client attaches before the container starts, and must not miss its first bytes).
 */
let held: { frames: Array<{ type: FrameType; data: Buffer }>; bytes: number; claimed: () => void } | undefined;
const HOLD_LIMIT = 16 * 1024 * 1024;
/** How long an exited container's shim waits for the held output to be claimed. */
const HOLD_WAIT_MS = 10_000;
const waiters = new Set<Socket>();
let container: Started | undefined;
let finalStatus: ExitStatus | undefined;

function send(socket: Socket, frame: Buffer): void {
  if (!socket.destroyed) socket.write(frame);
}

function broadcast(type: FrameType, data: Buffer): void {
  for (const c of attached) if ((type === STDOUT && c.stdout) || (type === STDERR && c.stderr)) send(c.socket, encodeFrame(type, data));
}

function closeContainerStdin(): void {
  closeStdinOf(container);
}

/**
 * The end of a client's input. A TTY's input never ends (dockerd closes stdin only without one):
 * a client that detaches (ctrl-p ctrl-q) or goes away leaves the shell on the terminal running.
 */
function closeStdinOf(proc: Started | undefined): void {
  if (proc?.master === undefined) proc?.stdin?.end();
}

/**
 * Connections of the attach socket the shim still has something to write to: once the exit is
 * recorded, the shim leaves when there are none.
 */
const connections = new Set<Socket>();
let leaving = false;

function leaveWhenIdle(): void {
  if (leaving && connections.size === 0) process.exit(0);
}

function onConnection(socket: Socket): void {
  connections.add(socket);
  // Done once the shim has ended its side and the kernel has every byte (the client reads them
  // even after the shim has gone), or once the client has gone.
  const done = (): void => {
    connections.delete(socket);
    leaveWhenIdle();
  };
  socket.once('finish', done);
  socket.once('close', done);
  socket.on('error', () => {});
  let session: ((type: FrameType, payload: Buffer) => void) | undefined;
  const decoder = new FrameDecoder((type, payload) => {
    if (session) return session(type, payload);
    if (type !== CONTROL) return socket.destroy();
    session = hello(socket, JSON.parse(payload.toString('utf8')) as ClientHello);
  });
  socket.on('data', (d: Buffer) => {
    try {
      decoder.push(d);
    } catch (err) {
      process.stderr.write(`shim: attach connection: ${(err as Error).stack ?? String(err)}\n`);
      socket.destroy();
    }
  });
}

function hello(socket: Socket, msg: ClientHello): (type: FrameType, payload: Buffer) => void {
  const ignore = (): void => {};
  switch (msg.op) {
    case 'wait':
      if (finalStatus) socket.end(encodeControl({ exit: finalStatus }));
      else {
        waiters.add(socket);
        socket.on('close', () => waiters.delete(socket));
      }
      return ignore;
    case 'signal': {
      const n = signalNumber(msg.signal);
      if (n === undefined) socket.end(encodeControl({ error: `Invalid signal: ${msg.signal}` }));
      else if (finalStatus || !container?.child.pid) socket.end(encodeControl({ error: 'container is not running' }));
      else {
        try {
          process.kill(container.child.pid, n);
          socket.end(encodeControl({ ok: true }));
        } catch (err) {
          socket.end(encodeControl({ error: (err as Error).message }));
        }
      }
      return ignore;
    }
    case 'attach': {
      const client: AttachClient = { socket, stdout: msg.stdout ?? true, stderr: msg.stderr ?? true, stdin: msg.stdin ?? false };
      if (msg.fromStart && held) {
        for (const f of held.frames) if ((f.type === STDOUT && client.stdout) || (f.type === STDERR && client.stderr)) send(socket, encodeFrame(f.type, f.data));
        const { claimed } = held;
        held = undefined;
        claimed();
      }
      if (finalStatus) {
        socket.end(encodeControl({ exit: finalStatus }));
        return ignore;
      }
      attached.add(client);
      socket.on('close', () => {
        attached.delete(client);
        if (client.stdin && spec.stdinOnce) closeContainerStdin();
      });
      return (type, payload) => {
        if (type === STDIN) {
          if (client.stdin) container?.stdin?.write(payload);
        } else if (type === CONTROL) controlMessage(container, JSON.parse(payload.toString('utf8')) as ClientControl, closeContainerStdin);
      };
    }
    case 'exec':
      return startExec(socket, msg);
    default:
      socket.end(encodeControl({ error: 'unknown operation' }));
      return ignore;
  }
}

function controlMessage(target: Started | undefined, msg: ClientControl, closeStdin: () => void): void {
  if ('resize' in msg) {
    if (target?.master !== undefined) {
      try {
        sys.setWindowSize(target.master, msg.resize);
      } catch {
        /* the terminal is gone */
      }
    }
  } else if ('closeStdin' in msg) closeStdin();
}

function startExec(socket: Socket, req: ExecRequest): (type: FrameType, payload: Buffer) => void {
  const initPid = container?.child.pid;
  if (finalStatus || initPid === undefined) {
    socket.end(encodeControl({ error: 'container is not running', exitCode: 126 }));
    return () => {};
  }
  let proc: Started;
  try {
    const opts = req.consoleSize ? { tty: req.process.tty, stdin: req.stdin, consoleSize: req.consoleSize } : { tty: req.process.tty, stdin: req.stdin };
    proc = startExecProcess({ mode: 'exec', process: req.process, openStdin: req.stdin, targetPid: initPid, cgroupProcs: cgroup.joinFiles() }, opts);
  } catch (err) {
    socket.end(encodeControl({ error: (err as Error).message, exitCode: 126 }));
    return () => {};
  }
  const closeStdin = (): void => closeStdinOf(proc);
  proc.stdin?.on('error', () => {});
  for (const { stream, type } of proc.outputs) {
    stream.on('data', (d: Buffer) => send(socket, encodeFrame(type, d)));
    stream.on('error', () => {});
  }
  void (async () => {
    const failure = await execOutcome(proc);
    if (failure) send(socket, encodeControl({ error: failure.message, exitCode: failure.exitCode }));
    else send(socket, encodeControl({ started: { pid: proc.child.pid } }));
    const exitCode = await exited(proc.child);
    await drained(proc.outputs, DRAIN_MS);
    if (proc.master !== undefined) proc.outputs[0]?.stream.destroy();
    if (!failure) send(socket, encodeControl({ exit: { exitCode } }));
    socket.end();
  })();
  socket.on('close', closeStdin);
  return (type, payload) => {
    if (type === STDIN) proc.stdin?.write(payload);
    else if (type === CONTROL) controlMessage(proc, JSON.parse(payload.toString('utf8')) as ClientControl, closeStdin);
  };
}

// --- the container's lifetime ---

let channel: Socket | undefined;

function reportReady(message: object): void {
  if (!channel) return;
  channel.on('error', () => {});
  channel.end(`${JSON.stringify(message)}\n`);
  channel = undefined;
}

/** A warm shim's claim: the state dir of its container (the pool owner gone first: exit). */
function claim(ch: Socket): Promise<{ stateDir: string; holdOutput: boolean }> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (d: Buffer): void => {
      text += d.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl < 0) return;
      ch.off('data', onData);
      ch.off('end', onEnd);
      const msg = JSON.parse(text.slice(0, nl)) as { stateDir: string; holdOutput?: boolean };
      resolve({ stateDir: msg.stateDir, holdOutput: msg.holdOutput ?? false });
    };
    const onEnd = (): void => process.exit(0);
    ch.on('data', onData);
    ch.once('end', onEnd);
    ch.once('error', onEnd);
  });
}

function listen(server: Server): Promise<void> {
  try {
    unlinkSync(SOCKET_FILE);
  } catch {
    /* not there */
  }
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(SOCKET_FILE, () => resolve());
  });
}

async function main(arg: string, spawned: Spawned | Error): Promise<void> {
  channel = new Socket({ fd: CHANNEL_FD, readable: true, writable: true });
  if (spawned instanceof Error) throw spawned;
  const init = spawned;
  let stateDir = arg;
  let holdOutput = process.argv.includes('--hold-output');
  if (arg === '--warm') {
    // Tell the pool once the init has loaded (its first line on fd 3 says so).
    const fd3 = init.child.stdio[3] as Readable;
    const onReady = (d: Buffer): void => {
      if (!d.toString('utf8').includes('"ready"')) return;
      fd3.off('data', onReady);
      channel?.write(`${JSON.stringify({ warm: true })}\n`);
    };
    fd3.on('data', onReady);
    ({ stateDir, holdOutput } = await claim(channel));
    setSessionNice('self', 0);
    if (init.child.pid !== undefined) setSessionNice(init.child.pid, 0); // the container's command runs in that session
    fd3.off('data', onReady);
    fd3.pause(); // execOutcome reads on

    process.chdir(stateDir);
    // Until now output went nowhere (the pool has no state dir): from here on, to shim.log.
    const logFd = openSync(SHIM_LOG, 'a', 0o600);
    sys.dup2(logFd, 1);
    sys.dup2(logFd, 2);
    sys.close(logFd);
  } else {
    // Relative paths from here on: the socket's absolute path could exceed sun_path's 108 bytes.
    process.chdir(stateDir);
  }
  config = readConfig('.');
  spec = config.spec;
  cgroup = openCgroup(config.cgroup);
  log = new JsonFileLog(logFileName(spec.id), spec.log);
  let heldClaimed: Promise<void> = Promise.resolve();
  if (holdOutput) {
    heldClaimed = new Promise<void>((resolve) => {
      held = { frames: [], bytes: 0, claimed: resolve };
    });
  }

  const request: ContainerInitRequest = {
    mode: 'container',
    process: spec.process,
    openStdin: spec.openStdin,
    rootfs: spec.rootfs,
    rootfsDir: `${stateDir}/${ROOTFS_DIR}`,
    readonlyRootfs: spec.readonlyRootfs,
    hostname: spec.hostname,
    binds: spec.binds,
    tmpfs: spec.tmpfs,
    etcFiles: ETC_MOUNTS.map((e) => ({ source: `${stateDir}/${e.file}`, destination: e.destination })),
    network: spec.network,
    cgroupProcs: cgroup.joinFiles(),
    cgroupNamespace: config.cgroup.version === 2,
  };
  const opts = spec.consoleSize ? { tty: spec.process.tty, stdin: spec.openStdin, consoleSize: spec.consoleSize } : { tty: spec.process.tty, stdin: spec.openStdin };
  const relay = (s: Started): void => {
    s.stdin?.on('error', () => {});
    for (const { stream, type } of s.outputs) {
      const logStream: LogStream = type === STDERR ? 'stderr' : 'stdout';
      stream.on('data', (d: Buffer) => {
        log.write(logStream, d);
        broadcast(type, d);
        if (held) {
          held.frames.push({ type, data: d });
          held.bytes += d.length;
          while (held.bytes > HOLD_LIMIT) held.bytes -= held.frames.shift()!.data.length;
        }
      });
      stream.on('error', () => {});
    }
  };
  const started = startContainer(init, request, opts, relay);
  container = started;
  // Listening once the init has its request (it has the longer way to go): start() resolves
  // only after this (execOutcome below).
  const server = createServer(onConnection);
  await listen(server);

  const previous = readState('.');
  const failure = await execOutcome(started);
  if (!failure) {
    const state: ContainerState = {
      status: 'running',
      pid: started.child.pid!,
      shimPid: process.pid,
      shimStartTime: processStartTime(process.pid)!,
      startedAt: new Date().toISOString(),
      starts: (previous.starts ?? 0) + 1,
    };
    writeState('.', state);
    reportReady({ pid: started.child.pid });
  }

  const exitCode = failure ? failure.exitCode : await exited(started.child);
  await drained(started.outputs, DRAIN_MS);
  if (started.master !== undefined) started.outputs[0]?.stream.destroy();
  log.close();
  finalStatus = {
    exitCode,
    oomKilled: spec.resources.memory !== undefined && cgroup.oomKilled(),
    finishedAt: new Date().toISOString(),
  };
  if (failure) finalStatus.error = failure.message;
  const last = readState('.');
  const state: ContainerState = { ...last, status: 'exited', exitCode: finalStatus.exitCode, oomKilled: finalStatus.oomKilled, finishedAt: finalStatus.finishedAt };
  if (failure) {
    state.error = failure.message;
    state.starts = (previous.starts ?? 0) + 1;
  } else delete state.error;
  writeState('.', state);
  if (failure) reportReady({ error: failure.message, exitCode: failure.exitCode });

  const bye = encodeControl({ exit: finalStatus });
  for (const c of attached) c.socket.end(bye);
  for (const w of waiters) w.end(bye);
  // Held output nobody has claimed yet: its client is about to attach.
  if (held) await Promise.race([heldClaimed, new Promise((r) => setTimeout(r, HOLD_WAIT_MS))]);
  server.close();
  try {
    unlinkSync(SOCKET_FILE);
  } catch {
    /* gone */
  }
  // Exec sessions still draining and clients still reading get a moment (at most 200 ms): the
  // shim goes as soon as they are done, which is what remove() waits for.
  leaving = true;
  setTimeout(() => process.exit(0), 200).unref();
  leaveWhenIdle();
}

/** Run the shim for `arg` (a state dir, or --warm) with its init spawned (or the error that prevented it). */
export function runShim(arg: string, spawned: Spawned | Error): void {
  main(arg, spawned).catch((err: unknown) => {
    process.stderr.write(`shim: ${(err as Error).stack ?? String(err)}\n`);
    reportReady({ error: (err as Error).message, exitCode: 128 });
    try {
      const last = readState('.');
      writeState('.', { ...last, status: 'exited', exitCode: 128, error: (err as Error).message, finishedAt: new Date().toISOString() });
    } catch {
      /* nothing more to do */
    }
    process.exit(1);
  });
}
