// A private dockerd for one test file: its own data-root, exec-root, pidfile and socket in a temp
// dir, no bridge and no iptables changes. It also starts its own containerd (for ctr).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mountsBelow, waitFor } from './env.js';
import { run, type RunOptions, type RunResult } from './run.js';

export interface PrivateDockerd {
  /** `unix:///.../docker.sock` */
  host: string;
  dir: string;
  dataRoot: string;
  execRoot: string;
  /** The containerd socket dockerd started (or the system one it chose to use). */
  containerdSocket: string;
  /** Environment for the docker CLI: a private DOCKER_CONFIG so ~/.docker is never touched. */
  env: NodeJS.ProcessEnv;
  /** `docker -H HOST ARGS...`; throws with the output on a non-zero exit unless allowFailure. */
  docker(args: string[], options?: RunOptions): Promise<RunResult>;
  output(): string;
  stop(): Promise<void>;
}

type Hooks = { after(fn: () => unknown): void };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function findFile(dir: string, name: string, depth = 4): Promise<string | undefined> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return undefined;
  }
  for (const e of entries) if (e.name === name && !e.isDirectory()) return join(dir, e.name);
  if (depth === 0) return undefined;
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const found = await findFile(join(dir, e.name), name, depth - 1);
    if (found) return found;
  }
  return undefined;
}


export interface DockerdOptions {
  startTimeoutMs?: number;
  /** Extra dockerd arguments (e.g. `--registry-mirror=http://127.0.0.1:PORT`). */
  extraArgs?: string[];
  /** Extra environment for dockerd only (not for the docker CLI), e.g. HTTPS_PROXY. */
  daemonEnv?: Record<string, string>;
}

export async function startDockerd(hooks: Hooks, options: DockerdOptions = {}): Promise<PrivateDockerd> {
  // Short path: the containerd socket below it must fit in sun_path (108 bytes).
  const dir = await mkdtemp(join(tmpdir(), 'tsd-dockerd-'));
  const dataRoot = join(dir, 'data');
  const execRoot = join(dir, 'exec');
  const socket = join(dir, 'docker.sock');
  const host = `unix://${socket}`;
  const configFile = join(dir, 'daemon.json');
  const clientConfig = join(dir, 'client');
  await mkdir(clientConfig);
  await writeFile(configFile, '{}\n');
  await writeFile(join(clientConfig, 'config.json'), '{}\n');
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_CONFIG: clientConfig };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  delete env.DOCKER_TLS_VERIFY;

  const child = spawn(
    'dockerd',
    [
      '--bridge=none',
      '--iptables=false',
      '--ip-masq=false',
      '--ip6tables=false',
      '--data-root', dataRoot,
      '--exec-root', execRoot,
      '--pidfile', join(dir, 'docker.pid'),
      '--config-file', configFile,
      '-H', host,
      '--log-level', 'warn',
      ...(options.extraArgs ?? []),
    ],
    { env: { ...env, ...options.daemonEnv }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  child.on('error', (err) => (out += `spawn error: ${err.message}\n`));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null && child.pid !== undefined;

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    let containerdPid: number | undefined;
    try {
      const pidFile = await findFile(execRoot, 'containerd.pid');
      if (pidFile) containerdPid = Number((await readFile(pidFile, 'utf8')).trim()) || undefined;
    } catch {
      /* none */
    }
    if (running()) {
      process.kill(child.pid!, 'SIGTERM');
      const timer = setTimeout(() => {
        if (running()) process.kill(child.pid!, 'SIGKILL');
      }, 20_000);
      await exited;
      clearTimeout(timer);
    }
    // dockerd stops its containerd on a clean exit; after a SIGKILL it is left behind.
    if (containerdPid !== undefined && alive(containerdPid)) {
      process.kill(containerdPid, 'SIGTERM');
      await waitFor(async () => !alive(containerdPid!), 'containerd to exit', 10_000).catch(() => {
        if (alive(containerdPid!)) process.kill(containerdPid!, 'SIGKILL');
      });
    }
    for (const mount of await mountsBelow(dir)) {
      const r = await run('umount', [mount], { allowFailure: true });
      if (r.code !== 0) await run('umount', ['-l', mount], { allowFailure: true });
    }
    await rm(dir, { recursive: true, force: true });
  };
  hooks.after(stop);

  const docker = (args: string[], o: RunOptions = {}) => run('docker', ['-H', host, ...args], { env, ...o });
  try {
    await waitFor(
      async () => {
        if (!running()) throw new Error('dockerd exited');
        return (await docker(['version', '--format', '{{.Server.Version}}'], { allowFailure: true, timeoutMs: 5000 })).code === 0;
      },
      `dockerd on ${host}`,
      options.startTimeoutMs ?? 60_000,
    );
  } catch (err) {
    await stop();
    throw new Error(`dockerd did not start: ${(err as Error).message}\n${out}`);
  }

  let containerdSocket = '';
  try {
    await waitFor(
      async () => {
        containerdSocket = (await findFile(execRoot, 'containerd.sock')) ?? '';
        // With a system containerd already running, dockerd uses it instead of starting its own.
        if (!containerdSocket && existsSync('/run/containerd/containerd.sock')) containerdSocket = '/run/containerd/containerd.sock';
        return containerdSocket !== '';
      },
      `containerd socket under ${execRoot}`,
      10_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    host,
    dir,
    dataRoot,
    execRoot,
    containerdSocket,
    env,
    docker,
    output: () => out,
    stop,
  };
}
