// A private tsdockerd for a test: its own data root, exec root, pidfile and unix socket in a temp
// dir (or a data root the test gives, to restart on the same state), stopped and cleaned up when
// the test ends. `docker(...)` runs the real docker CLI against it with a private DOCKER_CONFIG.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mountsBelow, waitFor } from './env.js';
import { run, type RunOptions, type RunResult } from './run.js';

const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const tsdockerdBin = join(projectRoot, 'bin', 'tsdockerd.js');

type Hooks = { after(fn: () => unknown): void };

export interface TsdockerdOptions {
  /** Reuse a data root (e.g. one a stopped daemon left); default: a fresh one in the temp dir. */
  dataRoot?: string;
  /** The unix socket path (default: d.sock in the temp dir), e.g. to restart on the same one. */
  socket?: string;
  /** Contents of the daemon.json given with --config-file (default `{}`). */
  daemonJson?: Record<string, unknown>;
  /** `--storage-driver` (default: the daemon's choice, overlay where it works). */
  storageDriver?: 'overlay' | 'vfs';
  insecureRegistries?: string[];
  /** More flags, e.g. `['-H', 'tcp://127.0.0.1:PORT']`. */
  extraArgs?: string[];
  /** Environment for the daemon only. */
  env?: Record<string, string>;
  logLevel?: string;
  startTimeoutMs?: number;
}

export interface RunningTsdockerd {
  /** The unix socket path, and `unix://` + it for DOCKER_HOST. */
  socket: string;
  host: string;
  dataRoot: string;
  execRoot: string;
  pidfile: string;
  pid: number;
  process: ChildProcess;
  /** Environment for the docker CLI: DOCKER_HOST and a private DOCKER_CONFIG. */
  env: NodeJS.ProcessEnv;
  dockerConfig: string;
  docker(args: string[], options?: RunOptions): Promise<RunResult>;
  /** The daemon's log so far (stderr and stdout). */
  output(): string;
  /** Resolves with the exit code / signal once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, wait for exit (SIGKILL after 30 s). */
  stop(): Promise<void>;
  kill(): Promise<void>;
}

/** GET /_ping over a unix socket: the status, or 0 when nothing answers. */
export function pingSocket(socket: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: '/_ping', method: 'GET', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end();
  });
}


export async function startTsdockerd(hooks: Hooks, options: TsdockerdOptions = {}): Promise<RunningTsdockerd> {
  // A short path: the socket must fit in sun_path (108 bytes).
  const dir = await mkdtemp(join(tmpdir(), 'tsdd-'));
  const dataRoot = options.dataRoot ?? join(dir, 'data');
  const execRoot = join(dir, 'exec');
  const socket = options.socket ?? join(dir, 'd.sock');
  const pidfile = join(dir, 'tsdockerd.pid');
  const dockerConfig = join(dir, 'client');
  await mkdir(dockerConfig);
  await writeFile(join(dockerConfig, 'config.json'), '{}\n');
  const fromFile = options.daemonJson ?? {};
  const args = [
    tsdockerdBin,
    '--data-root', dataRoot,
    '--exec-root', execRoot,
    '--pidfile', pidfile,
    // Settings the daemon.json gives are not repeated as flags (dockerd refuses both).
    ...('hosts' in fromFile ? [] : ['-H', `unix://${socket}`]),
    ...('log-level' in fromFile ? [] : ['--log-level', options.logLevel ?? 'debug']),
    // No /etc/tsdocker/daemon.json of the machine leaks into a test.
    '--config-file', join(dir, 'daemon.json'),
    ...(options.storageDriver ? ['--storage-driver', options.storageDriver] : []),
    ...(options.insecureRegistries ?? []).flatMap((h) => ['--insecure-registry', h]),
    // As the private dockerd: no default bridge unless the test asks for one (tsdocker0 is the
    // host's, shared by every daemon started without --bridge).
    ...('bridge' in fromFile || (options.extraArgs ?? []).some((a) => a === '--bridge' || a === '-b' || a.startsWith('--bridge=')) ? [] : ['--bridge', 'none']),
    ...(options.extraArgs ?? []),
  ];
  await writeFile(join(dir, 'daemon.json'), `${JSON.stringify(options.daemonJson ?? {})}\n`);
  const daemonEnv: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: join(dir, 'daemon-docker-config'), ...options.env };
  const child = spawn(process.execPath, args, { env: daemonEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  child.on('error', (err) => (out += `spawn error: ${err.message}\n`));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const running = () => child.exitCode === null && child.signalCode === null;

  const signal = async (sig: NodeJS.Signals) => {
    if (running() && child.pid !== undefined) process.kill(child.pid, sig);
    const timer = setTimeout(() => {
      if (running() && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, 30_000);
    await exited;
    clearTimeout(timer);
  };
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await signal('SIGTERM').catch(() => {});
    for (const mount of await mountsBelow(dir).catch(() => [])) {
      const r = await run('umount', [mount], { allowFailure: true });
      if (r.code !== 0) await run('umount', ['-l', mount], { allowFailure: true });
    }
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }).catch((err: Error) => {
      process.stderr.write(`warning: could not remove ${dir}: ${err.message}\n`);
    });
  };
  hooks.after(cleanup);

  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `unix://${socket}`, DOCKER_CONFIG: dockerConfig };
  delete env.DOCKER_CONTEXT;
  delete env.DOCKER_TLS_VERIFY;
  delete env.DOCKER_CERT_PATH;
  try {
    await waitFor(
      async () => {
        if (!running()) throw new Error('tsdockerd exited');
        return (await pingSocket(socket)) === 200;
      },
      `tsdockerd on ${socket}`,
      options.startTimeoutMs ?? 30_000,
    );
  } catch (err) {
    await cleanup();
    throw new Error(`tsdockerd did not start: ${(err as Error).message}\n${out}`);
  }
  return {
    socket,
    host: `unix://${socket}`,
    dataRoot,
    execRoot,
    pidfile,
    pid: child.pid!,
    process: child,
    env,
    dockerConfig,
    docker: (a, o = {}) => run('docker', a, { env, ...o }),
    output: () => out,
    exited,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
  };
}
