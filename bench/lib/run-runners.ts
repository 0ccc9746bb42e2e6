/**
 * The ways bench/engine-run.ts starts `true` in the busybox image, each behind one interface:
 * set up once (not timed), then `once(n)` = one timed start-to-exit, with optional untimed work
 * before and after it (a warm pool refilling) so that no runner's background work lands in the
 * next runner's time. A setup that cannot work here returns the reason instead of a runner.
 */
import { request } from 'node:http';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSpec, createContainer, WarmPool } from '../../engine/runtime/index.js';
import type { Snapshotter } from '../../engine/snapshots/index.js';
import { startDockerd } from '../../test/helpers/dockerd.js';
import { run } from '../../test/helpers/run.js';
import { startTsdockerd } from '../../test/helpers/tsdockerd.js';
import { writeBundle } from './busybox-image.js';
import { removeCgroupTree } from './cgroup-tree.js';
import { removeTree } from './remove-tree.js';
import { CommandError, timeCommand } from './timed-command.js';

export interface Timed {
  ms: number;
  /** Where the time went, when the runner can tell (ours through the library). */
  phases?: Record<string, number>;
}

export interface Runner {
  label: string;
  before?(): Promise<void>;
  once(n: number): Promise<Timed>;
  after?(): Promise<void>;
}

/** A runner, or why there is none ("n/a ..."). */
export type Setup = Runner | string;

export type Hooks = { after(fn: () => unknown): void };

const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));
const ms = (a: number, b: number): number => b - a;

/**
 * Ours through engine/runtime in this process: snapshot prepare + createContainer + start + wait
 * + remove + snapshot remove (what `run --rm` does), cold or from a warm pool of one shim.
 */
export function libraryRunner(options: { snapshotter: Snapshotter; parent: string; stateRoot: string; cgroupParent: string; pool?: WarmPool; label: string }): Runner {
  const { snapshotter, parent, stateRoot, cgroupParent, pool } = options;
  const tag = pool ? 'warm' : 'cold';
  return {
    label: options.label,
    // The pool is full before the run and refilled after it (untimed): its refill starts during
    // the run, as in a daemon, but never overlaps the next runner.
    before: pool ? () => pool.ready() : undefined,
    after: pool ? () => pool.ready() : undefined,
    async once(n) {
      const key = `${tag}-${n}`;
      const t0 = performance.now();
      const mounts = await snapshotter.prepare(key, parent);
      const t1 = performance.now();
      const c = await createContainer(buildSpec(mounts, {}, { cmd: ['true'], network: 'none' }), { stateRoot, cgroupParent });
      const t2 = performance.now();
      await c.start(pool ? { pool } : {});
      const t3 = performance.now();
      const status = await c.wait();
      const t4 = performance.now();
      if (status.exitCode !== 0) throw new Error(`true exited with ${status.exitCode}${status.error ? `: ${status.error}` : ''}`);
      await c.remove();
      const t5 = performance.now();
      await snapshotter.remove(key);
      const t6 = performance.now();
      return {
        ms: ms(t0, t6),
        phases: { snapshot: ms(t0, t1) + ms(t5, t6), create: ms(t1, t2), start: ms(t2, t3), wait: ms(t3, t4), remove: ms(t4, t5) },
      };
    },
  };
}

/** GET a path on a unix socket: the status code, or 0 when nothing answers. */
function statusOf(socketPath: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path, method: 'GET', timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end();
  });
}

/** POST /images/load of a docker archive over a unix socket; rejects unless 200 with no error message. */
async function loadArchive(socketPath: string, archive: string): Promise<void> {
  const body = await new Promise<string>((resolve, reject) => {
    const req = request({ socketPath, path: '/images/load?quiet=1', method: 'POST', headers: { 'Content-Type': 'application/x-tar' } }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`POST /images/load: ${res.statusCode} ${text.trim()}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    createReadStream(archive).on('error', reject).pipe(req);
  });
  if (/"error"/.test(body)) throw new Error(`POST /images/load: ${body.trim()}`);
}

/**
 * Ours through tsdockerd: `tsdocker run --rm` and the real `docker run --rm` against it (the
 * second isolates the daemon from our CLI's Node start-up). Both only when the daemon answers
 * GET /containers/json with 200.
 */
export async function daemonRunners(hooks: Hooks, archive: string, image: string): Promise<{ tsdocker: Setup; docker: Setup }> {
  // Its containers below a cgroup parent of its own, as for dockerd; a daemon too old for the
  // flag refuses to start, and has no container API either.
  const cgroupParent = `tsd-bench-tsdockerd-${process.pid}`;
  cleanCgroupAfter(hooks, cgroupParent);
  const d = await startTsdockerd(hooks, { logLevel: 'warn', extraArgs: ['--cgroup-parent', `/${cgroupParent}`] }).catch(() => startTsdockerd(hooks, { logLevel: 'warn' }));
  const status = await statusOf(d.socket, '/containers/json');
  if (status !== 200) {
    const why = 'n/a (daemon has no container API)';
    return { tsdocker: why, docker: why };
  }
  await loadArchive(d.socket, archive);
  const cli = join(projectRoot, 'bin', 'tsdocker.js');
  const help = existsSync(cli) ? await run(process.execPath, [cli, 'run', '--help'], { env: d.env, allowFailure: true }) : { stdout: '', stderr: '' };
  const runArgs = ['run', '--rm', '--network', 'none', image, 'true'];
  const tsdocker: Setup = /Usage:\s+tsdocker run/.test(help.stdout + help.stderr)
    ? { label: 'ours: tsdockerd + tsdocker run --rm', once: async () => ({ ms: await timeCommand(process.execPath, [cli, ...runArgs], { env: d.env }) }) }
    : 'n/a (the tsdocker CLI has no run command)';
  const docker: Setup = { label: 'ours: tsdockerd + docker run --rm (docker CLI)', once: async () => ({ ms: await timeCommand('docker', runArgs, { env: d.env }) }) };
  return { tsdocker, docker };
}

/** Remove a peer's own cgroup parent once it has stopped (registered before it starts: hooks run in reverse). */
function cleanCgroupAfter(hooks: Hooks, name: string): void {
  hooks.after(async () => {
    const left = await removeCgroupTree(name);
    if (left.length) console.error(`warning: cgroups left: ${left.join(' ')}`);
  });
}

/**
 * `docker run --rm --network none` on a private dockerd (--bridge=none), its containers below a
 * cgroup parent of its own (not the `docker` one another dockerd on the machine may use).
 */
export async function dockerRunner(hooks: Hooks, archive: string, image: string): Promise<Runner & { version: string }> {
  const cgroupParent = `tsd-bench-docker-${process.pid}`;
  cleanCgroupAfter(hooks, cgroupParent);
  const d = await startDockerd(hooks, { extraArgs: ['--cgroup-parent', `/${cgroupParent}`] });
  await d.docker(['load', '-q', '-i', archive]);
  const version = (await d.docker(['version', '--format', '{{.Server.Version}}'])).stdout.trim();
  return {
    label: 'docker run --rm',
    version: `dockerd ${version}`,
    once: async () => ({ ms: await timeCommand('docker', ['-H', d.host, 'run', '--rm', '--network', 'none', image, 'true'], { env: d.env }) }),
  };
}

/**
 * `podman run --rm --network none --runtime runc` with its own storage and run dirs in `dir`, and
 * its own cgroup parent (conmon goes below it too, instead of the shared /libpod_parent).
 */
export async function podmanRunner(hooks: Hooks, dir: string, archive: string, image: string): Promise<Runner> {
  await mkdir(dir, { recursive: true });
  const cgroupParent = `tsd-bench-podman-${process.pid}`;
  cleanCgroupAfter(hooks, cgroupParent);
  const global = [
    '--root', join(dir, 'root'),
    '--runroot', join(dir, 'run'),
    '--tmpdir', join(dir, 'tmp'),
    '--storage-driver', 'overlay',
    '--cgroup-manager', 'cgroupfs',
    '--events-backend', 'file',
  ];
  hooks.after(async () => {
    await run('podman', [...global, 'rm', '-a', '-f'], { allowFailure: true });
    await run('podman', [...global, 'system', 'reset', '-f'], { allowFailure: true });
    await removeTree(dir);
  });
  await run('podman', [...global, 'load', '-q', '-i', archive]);
  const args = [...global, 'run', '--rm', '--network', 'none', '--runtime', 'runc', '--cgroup-parent', `/${cgroupParent}`, '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=32768:32768', image, 'true'];
  return { label: 'podman run --rm --runtime runc', once: async () => ({ ms: await timeCommand('podman', args) }) };
}

/**
 * `runc run` / `crun run` of a bundle whose rootfs is `rootfs`, a new container id per run, its
 * state in `dir`. Probed once: a runtime that cannot run here gives "n/a: <its error>".
 */
export async function ociRuntimeRunner(hooks: Hooks, runtime: 'runc' | 'crun', dir: string, rootfs: string): Promise<Setup> {
  const bundle = await writeBundle(join(dir, 'bundle'), rootfs);
  const state = join(dir, 'state');
  await mkdir(state, { recursive: true });
  const prefix = `tsd-bench-${runtime}-${process.pid}`;
  hooks.after(async () => {
    const list = await run(runtime, ['--root', state, 'list', '-q'], { allowFailure: true });
    for (const id of list.stdout.split('\n').filter(Boolean)) await run(runtime, ['--root', state, 'delete', '-f', id], { allowFailure: true });
    await removeTree(dir);
  });
  const once = async (n: number | string): Promise<Timed> => ({ ms: await timeCommand(runtime, ['--root', state, 'run', '--bundle', bundle, `${prefix}-${n}`]) });
  try {
    await once('probe');
  } catch (err) {
    return `n/a: ${err instanceof CommandError ? err.stderr.trim().split('\n').pop() : (err as Error).message}`;
  }
  return { label: `${runtime} run`, once };
}
