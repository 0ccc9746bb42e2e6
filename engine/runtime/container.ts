/**
 * The runtime's API for the daemon: create a container's state dir from a spec, start it (a
 * detached shim per run), attach, exec, signal, stop, wait, inspect, remove; and `reattach` to a
 * state dir after a daemon restart (the shims kept the containers running meanwhile).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';
import { isNotFound } from '../../shared/errors.js';
import { capabilityNames } from './capabilities.js';
import { openCgroup, resolveCgroupPaths } from './cgroups.js';
import { isNotListening, ShimConnection } from './client.js';
import { RuntimeError } from './errors.js';
import { hostsFile, readHostFile, resolvConf } from './etc-files.js';
import type { ExitStatus } from './protocol.js';
import { signalName, signalNumber } from './signals.js';
import { mergeEnv, type ContainerSpec, type ProcessSpec } from './spec.js';
import type { WarmPool } from './warm-pool.js';
import {
  CONFIG_FILE,
  HOSTNAME_FILE,
  HOSTS_FILE,
  logFileName,
  processAlive,
  readConfig,
  readState,
  RESOLV_FILE,
  ROOTFS_DIR,
  SHIM_LOG,
  writeJsonAtomic,
  writeState,
  type ContainerConfig,
  type ContainerState,
} from './state.js';

const SHIM_SCRIPT = fileURLToPath(new URL('./shim.js', import.meta.url));
const START_TIMEOUT_MS = 60_000;

export interface CreateContainerOptions {
  /** Directory holding one state dir per container (created if missing). */
  stateRoot: string;
  /** docker's --cgroup-parent: absolute ("/tsdocker", the default) or relative to the caller's own cgroup. */
  cgroupParent?: string;
  /** The container's address, for its /etc/hosts (network helper, netns mode). */
  address?: string;
}

export interface AttachOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
  /** Receive the output held since a `start({ holdOutput: true })` (docker run attaches before it starts). */
  fromStart?: boolean;
}

export interface StdioSession {
  /** Written data goes to the process's stdin; end() closes it (a TTY gets ^D). */
  stdin: Writable;
  stdout: Readable;
  /** Empty with a TTY (a terminal has one output). */
  stderr: Readable;
  resize(size: { rows: number; cols: number }): void;
  /** Stop streaming (the process keeps running). */
  detach(): void;
}

export interface AttachSession extends StdioSession {
  /** The container's exit status, or undefined if the session was detached first. */
  exit: Promise<ExitStatus | undefined>;
}

export interface ExecOptions {
  cmd: string[];
  env?: string[];
  user?: string;
  workdir?: string;
  tty?: boolean;
  /** Send stdin (docker exec -i). */
  stdin?: boolean;
  consoleSize?: { rows: number; cols: number };
  /** docker exec --privileged: every capability. */
  privileged?: boolean;
}

export interface ExecSession extends StdioSession {
  /** The exec process's PID on the host. */
  pid: number;
  exit: Promise<number>;
}

export interface InspectedState extends ContainerState {
  id: string;
}

export class Container {
  readonly id: string;
  readonly spec: ContainerSpec;

  constructor(readonly stateDir: string, readonly config: ContainerConfig) {
    this.id = config.spec.id;
    this.spec = config.spec;
  }

  get logPath(): string {
    return join(this.stateDir, logFileName(this.id));
  }

  /**
   * Start (or restart after an exit) the container; resolves once its command runs. With a
   * `pool`, a warm shim is claimed when one is waiting.
   */
  async start(options: { pool?: WarmPool; holdOutput?: boolean } = {}): Promise<{ pid: number }> {
    const current = await this.inspectState();
    if (current.status === 'running') return { pid: current.pid! };
    try {
      openCgroup(this.config.cgroup).create(this.spec.resources);
    } catch (err) {
      throw new RuntimeError('system', `failed to create the container's cgroup: ${(err as Error).message}`, { cause: err });
    }
    // docker run -v creates a missing host directory.
    for (const b of this.spec.binds) {
      try {
        statSync(b.source);
      } catch {
        mkdirSync(b.source, { recursive: true, mode: 0o755 });
      }
    }
    let shim: ChildProcess;
    let pipe: Socket;
    const warm = options.pool?.take();
    if (warm) {
      ({ child: shim, channel: pipe } = warm);
      pipe.write(`${JSON.stringify({ stateDir: this.stateDir, holdOutput: options.holdOutput ?? false })}\n`);
    } else {
      const logFd = openSync(join(this.stateDir, SHIM_LOG), 'a', 0o600);
      try {
        shim = spawn(process.execPath, [SHIM_SCRIPT, this.stateDir, ...(options.holdOutput ? ['--hold-output'] : [])], { detached: true, stdio: ['ignore', logFd, logFd, 'pipe'], env: {} });
      } finally {
        closeSync(logFd);
      }
      pipe = shim.stdio[3] as Socket;
    }
    const ready = await new Promise<{ pid?: number; error?: string; exitCode?: number }>((resolveReady) => {
      let text = '';
      const timer = setTimeout(() => done({ error: `the shim did not report within ${START_TIMEOUT_MS} ms`, exitCode: 128 }), START_TIMEOUT_MS);
      const done = (r: { pid?: number; error?: string; exitCode?: number }): void => {
        clearTimeout(timer);
        pipe.destroy();
        shim.unref();
        resolveReady(r);
      };
      pipe.on('data', (d: Buffer) => {
        text += d.toString('utf8');
        for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
          const msg = JSON.parse(text.slice(0, nl)) as { pid?: number; error?: string; exitCode?: number; warm?: boolean };
          text = text.slice(nl + 1);
          if (!msg.warm) return done(msg);
        }
      });
      pipe.on('error', () => {});
      shim.once('exit', () => setTimeout(() => done({ error: `the shim exited: ${this.shimLogTail()}`, exitCode: 128 }), 50));
      shim.once('error', (err) => done({ error: err.message, exitCode: 128 }));
    });
    if (ready.pid === undefined) {
      throw new RuntimeError('start-failed', ready.error ?? 'the container did not start', { exitCode: ready.exitCode ?? 128 });
    }
    return { pid: ready.pid };
  }

  private shimLogTail(): string {
    try {
      return readFileSync(join(this.stateDir, SHIM_LOG), 'utf8').trim().split('\n').slice(-5).join('\n');
    } catch {
      return '(no shim log)';
    }
  }

  /** The recorded state; a "running" container whose shim has died is reported (and recorded) as exited. */
  async inspectState(): Promise<InspectedState> {
    let state = readState(this.stateDir);
    if (state.status === 'running' && !processAlive(state.shimPid!, state.shimStartTime)) {
      state = readState(this.stateDir); // it may have just written its final state
      if (state.status === 'running') {
        state = { ...state, status: 'exited', exitCode: 255, oomKilled: false, error: 'the container\'s shim exited unexpectedly', finishedAt: new Date().toISOString() };
        writeState(this.stateDir, state);
      }
    }
    return { id: this.id, ...state };
  }

  /** Wait for the container to exit (after it has been started). */
  async wait(options: { signal?: AbortSignal } = {}): Promise<ExitStatus> {
    // The shim records the exit before it closes its socket: when the socket has just gone,
    // state.json says so already (one look at once; polling only while the shim is starting).
    let lookAgain = true;
    for (;;) {
      options.signal?.throwIfAborted();
      const state = await this.inspectState();
      if (state.status === 'exited') return exitStatusOf(state);
      if (state.status === 'running') {
        let conn: ShimConnection | undefined;
        try {
          conn = await ShimConnection.open(this.stateDir, { op: 'wait' });
          const onAbort = (): void => conn?.destroy();
          options.signal?.addEventListener('abort', onAbort, { once: true });
          // Aborted while connecting (stop with a 0 s timeout): the listener came too late.
          if (options.signal?.aborted) conn.destroy();
          const exit = await conn.next<ExitStatus>('exit');
          options.signal?.removeEventListener('abort', onAbort);
          if (exit) return exit;
        } catch (err) {
          if (!isNotListening(err)) throw err;
        } finally {
          conn?.destroy();
        }
        if (lookAgain) {
          lookAgain = false;
          continue;
        }
      }
      await sleep(20);
    }
  }

  /** Send a signal to the container's PID 1 (docker kill; default SIGKILL). */
  async kill(signal: string | number = 'SIGKILL'): Promise<void> {
    const n = signalNumber(signal);
    if (n === undefined) throw new RuntimeError('invalid-spec', `Invalid signal: ${signal}`);
    const notRunning = (): RuntimeError => new RuntimeError('not-running', `Container ${this.id} is not running`);
    if ((await this.inspectState()).status !== 'running') throw notRunning();
    let conn: ShimConnection;
    try {
      conn = await ShimConnection.open(this.stateDir, { op: 'signal', signal: signalName(n) });
    } catch (err) {
      if (isNotListening(err)) throw notRunning();
      throw err;
    }
    try {
      const ok = await conn.next<boolean>('ok');
      if (ok) return;
      const error = conn.errorMessage();
      if (!error || error.error === 'container is not running') throw notRunning();
      throw new RuntimeError('system', error.error);
    } finally {
      conn.destroy();
    }
  }

  /** docker stop: the stop signal, then SIGKILL after `timeoutSeconds` (default: the spec's, 10). */
  async stop(timeoutSeconds: number = this.spec.stopTimeout): Promise<ExitStatus> {
    const state = await this.inspectState();
    if (state.status !== 'running') return state.status === 'exited' ? exitStatusOf(state) : { exitCode: 0, oomKilled: false, finishedAt: '' };
    try {
      await this.kill(this.spec.stopSignal);
    } catch (err) {
      if (!(err instanceof RuntimeError && err.reason === 'not-running')) throw err;
    }
    if (timeoutSeconds >= 0) {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(), timeoutSeconds * 1000);
      try {
        return await this.wait({ signal: ac.signal });
      } catch (err) {
        if (!ac.signal.aborted) throw err;
      } finally {
        clearTimeout(timer);
      }
    }
    try {
      await this.kill('SIGKILL');
    } catch (err) {
      if (!(err instanceof RuntimeError && err.reason === 'not-running')) throw err;
    }
    return this.wait();
  }

  /** Stream the running container's stdio (docker attach). */
  async attach(options: AttachOptions = {}): Promise<AttachSession> {
    let conn: ShimConnection;
    try {
      conn = await ShimConnection.open(this.stateDir, { op: 'attach', stdin: options.stdin ?? false, stdout: options.stdout ?? true, stderr: options.stderr ?? true, fromStart: options.fromStart ?? false });
    } catch (err) {
      if (isNotListening(err)) throw new RuntimeError('not-running', `Container ${this.id} is not running`);
      throw err;
    }
    return {
      stdin: conn.stdin,
      stdout: conn.stdout,
      stderr: conn.stderr,
      resize: (size) => conn.control({ resize: size }),
      detach: () => conn.close(),
      exit: conn.next<ExitStatus>('exit'),
    };
  }

  /** Run another process in the running container (docker exec). */
  async exec(options: ExecOptions): Promise<ExecSession> {
    if (options.cmd.length === 0) throw new RuntimeError('invalid-spec', 'No exec command specified');
    const tty = options.tty ?? false;
    const process: ProcessSpec = {
      args: options.cmd,
      env: mergeEnv(this.spec.process.env, tty ? ['TERM=xterm'] : [], options.env),
      cwd: options.workdir ?? this.spec.process.cwd,
      user: options.user ?? this.spec.process.user,
      groupAdd: this.spec.process.groupAdd,
      tty,
      capabilities: options.privileged ? [...capabilityNames] : this.spec.process.capabilities,
      noNewPrivileges: this.spec.process.noNewPrivileges,
    };
    let conn: ShimConnection;
    try {
      conn = await ShimConnection.open(this.stateDir, { op: 'exec', process, stdin: options.stdin ?? false, ...(options.consoleSize ? { consoleSize: options.consoleSize } : {}) });
    } catch (err) {
      if (isNotListening(err)) throw new RuntimeError('not-running', `Container ${this.id} is not running`);
      throw err;
    }
    const outcome = await Promise.race([
      conn.next<{ pid: number }>('started').then((s) => (s ? { started: s } : undefined)),
      conn.next<string>('error').then((e) => (e !== undefined ? { error: e } : undefined)),
    ]);
    if (!outcome || !('started' in outcome)) {
      const err = conn.errorMessage();
      conn.destroy();
      // No answer at all: the shim was closing down (the container has just exited).
      if (!err || err.error === 'container is not running') throw new RuntimeError('not-running', `Container ${this.id} is not running`);
      throw new RuntimeError('exec-failed', err.error, { exitCode: err.exitCode ?? 126 });
    }
    const exit = conn.next<{ exitCode: number }>('exit').then((e) => {
      if (!e) throw new RuntimeError('system', 'the exec session ended without an exit status');
      return e.exitCode;
    });
    exit.catch(() => {});
    return {
      pid: outcome.started.pid,
      stdin: conn.stdin,
      stdout: conn.stdout,
      stderr: conn.stderr,
      resize: (size) => conn.control({ resize: size }),
      detach: () => conn.close(),
      exit,
    };
  }

  /** Delete the container: its cgroup and state dir (the snapshot is the caller's). */
  async remove(options: { force?: boolean } = {}): Promise<void> {
    const state = await this.inspectState();
    if (state.status === 'running') {
      if (!options.force) throw new RuntimeError('running', `You cannot remove a running container ${this.id}. Stop the container before attempting removal or force remove`);
      try {
        await this.kill('SIGKILL');
      } catch (err) {
        if (!(err instanceof RuntimeError && err.reason === 'not-running')) throw err;
      }
      await this.wait();
    }
    // The shim lingers a moment after recording the exit (its last writes to clients): the cgroup
    // and the state dir go meanwhile, and remove() returns once the shim has gone too.
    const { shimPid, shimStartTime } = readState(this.stateDir);
    const cleanup = async (): Promise<void> => {
      await openCgroup(this.config.cgroup).remove();
      await rm(this.stateDir, { recursive: true, force: true });
    };
    await Promise.all([cleanup(), shimPid === undefined ? undefined : processGone(shimPid, shimStartTime, 2000)]);
  }
}

/**
 * Resolves once the process is gone, or after `timeoutMs`. It is not our child (or not only),
 * so no exit event: poll, first every millisecond (a shim leaves a few ms after its last
 * client), then less often.
 */
async function processGone(pid: number, startTime: number | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; processAlive(pid, startTime) && Date.now() < deadline; delay = Math.min(delay + 1, 20)) await sleep(delay);
}

function exitStatusOf(state: ContainerState): ExitStatus {
  const out: ExitStatus = { exitCode: state.exitCode ?? 0, oomKilled: state.oomKilled ?? false, finishedAt: state.finishedAt ?? '' };
  if (state.error) out.error = state.error;
  return out;
}

/** Make a container's state dir from a resolved spec (docker create). Nothing runs yet. */
export async function createContainer(spec: ContainerSpec, options: CreateContainerOptions): Promise<Container> {
  if (!/^[0-9a-f]{64}$/.test(spec.id)) throw new RuntimeError('invalid-spec', `invalid container id: ${JSON.stringify(spec.id)}`);
  const stateRoot = resolve(options.stateRoot);
  await mkdir(stateRoot, { recursive: true, mode: 0o700 });
  const dir = join(stateRoot, spec.id);
  try {
    await mkdir(dir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new RuntimeError('invalid-spec', `Conflict. The container ID "${spec.id}" is already in use`);
    throw err;
  }
  try {
    let cgroup;
    try {
      cgroup = resolveCgroupPaths(options.cgroupParent ?? '/tsdocker', spec.id);
    } catch (err) {
      throw new RuntimeError('invalid-spec', (err as Error).message, { cause: err });
    }
    const config: ContainerConfig = { version: 1, spec, cgroup, createdAt: new Date().toISOString() };
    let hosts: string;
    try {
      hosts = hostsFile({ hostname: spec.hostname, network: spec.network, extraHosts: spec.extraHosts, ...(options.address ? { address: options.address } : {}), hostHosts: readHostFile('/etc/hosts') ?? '' });
    } catch (err) {
      throw new RuntimeError('invalid-spec', (err as Error).message, { cause: err });
    }
    const resolv = resolvConf(readHostFile('/etc/resolv.conf') ?? '', spec.network, spec.dns);
    await Promise.all([
      writeFile(join(dir, HOSTS_FILE), hosts, { mode: 0o644 }),
      writeFile(join(dir, HOSTNAME_FILE), `${spec.hostname}\n`, { mode: 0o644 }),
      writeFile(join(dir, RESOLV_FILE), resolv, { mode: 0o644 }),
      mkdir(join(dir, ROOTFS_DIR), { mode: 0o755 }),
    ]);
    writeState(dir, { status: 'created' });
    writeJsonAtomic(join(dir, CONFIG_FILE), config);
    return new Container(dir, config);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Open an existing container's state dir (after a daemon restart). */
export async function reattach(stateDir: string): Promise<Container> {
  const dir = resolve(stateDir);
  try {
    return new Container(dir, readConfig(dir));
  } catch (err) {
    if (isNotFound(err)) throw new RuntimeError('not-found', `No such container: ${stateDir}`, { cause: err });
    throw err;
  }
}

/** Every container under a state root (those whose config is complete). */
export async function listContainers(stateRoot: string): Promise<Container[]> {
  let names: string[];
  try {
    names = await readdir(stateRoot);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
  const out: Container[] = [];
  for (const name of names.filter((n) => /^[0-9a-f]{64}$/.test(n)).sort()) {
    try {
      out.push(await reattach(join(stateRoot, name)));
    } catch {
      /* half-created or being removed */
    }
  }
  return out;
}
