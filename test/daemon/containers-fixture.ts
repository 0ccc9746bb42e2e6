// A tsdockerd for container tests: its own default bridge (a random name on a free 10.x subnet),
// a cgroup parent of its own below the test's cgroup, and the busybox image loaded. Cleanup (pass
// or fail) removes every container, network and volume through the API, stops the daemon, kills
// any shim left, removes bridges, veths, iptables rules, namespace files and cgroup directories;
// `leftovers()` says what is still there (each file's last test asserts it is nothing).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, type TestContext } from 'node:test';
import { need, tempDir } from '../helpers/env.js';
import { sharedHooks } from '../helpers/oci-client.js';
import { writeBusyboxArchive } from '../helpers/busybox-image.js';
import { startTsdockerd, type RunningTsdockerd, type TsdockerdOptions } from '../helpers/tsdockerd.js';
import { cleanStateDir, freeSubnet, leftovers as networkLeftovers, Tracker } from '../network/lib.js';
import { cgroupParentDirs } from '../runtime/fixture.js';

type Hooks = { after(fn: () => unknown): void };

export const IMAGE = 'busybox:latest';

export interface ContainerDaemon {
  d: RunningTsdockerd;
  bridge: string;
  subnet: string;
  cgroupParent: string;
  /** Flags to start another daemon on the same settings (a restart). */
  args: string[];
  /** Remove everything now (idempotent); the hooks call it too. */
  cleanup(): Promise<void>;
  leftovers(): Promise<string[]>;
  /** Restart on the same data root and socket (the containers' shims keep running meanwhile). */
  restart(hooks: Hooks): Promise<RunningTsdockerd>;
}

/** A process that still runs (zombies waiting for their parent's reap do not count). */
function pidAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function describe(pid: number): string {
  try {
    return `process ${pid} (${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()})`;
  } catch {
    return `process ${pid}`;
  }
}

/** Shim and container PIDs recorded in the runtime state dirs of a data root. */
function recordedPids(dataRoot: string): number[] {
  const dir = join(dataRoot, 'containers');
  const out: number[] = [];
  for (const id of existsSync(dir) ? readdirSync(dir) : []) {
    try {
      const s = JSON.parse(readFileSync(join(dir, id, 'state.json'), 'utf8')) as { pid?: number; shimPid?: number; status?: string };
      if (s.status === 'running') for (const p of [s.shimPid, s.pid]) if (p) out.push(p);
    } catch {
      /* none */
    }
  }
  return out;
}

export async function startContainerDaemon(hooks: Hooks, options: TsdockerdOptions = {}): Promise<ContainerDaemon> {
  const bridge = `tsdt${randomBytes(4).toString('hex')}`;
  const subnet = await freeSubnet(24);
  const bip = subnet.replace(/\.0\/24$/, '.1/24');
  const pool = await freeSubnet(16);
  const cgroupParent = `tsdtest-${process.pid}-${randomBytes(3).toString('hex')}`;
  const args = ['--bridge', bridge, '--bip', bip, '--default-address-pool', `base=${pool},size=24`, '--cgroup-parent', cgroupParent];
  const tracker = new Tracker();
  tracker.links.add(bridge);
  const daemons: RunningTsdockerd[] = [];
  const pids = new Set<number>();
  let cleaned = false;
  const first = await startTsdockerd(hooks, { ...options, extraArgs: [...args, ...(options.extraArgs ?? [])] });
  daemons.push(first);
  const current = () => daemons[daemons.length - 1]!;
  const cleanup = async (): Promise<void> => {
    if (cleaned) return;
    cleaned = true;
    const d = current();
    if (d.process.exitCode === null && d.process.signalCode === null) {
      const ids = (await d.docker(['ps', '-aq', '--no-trunc'], { allowFailure: true })).stdout.split('\n').filter(Boolean);
      if (ids.length > 0) await d.docker(['rm', '-f', '-v', ...ids], { allowFailure: true, timeoutMs: 60_000 });
      await d.docker(['network', 'prune', '-f'], { allowFailure: true });
      await d.docker(['volume', 'prune', '-f'], { allowFailure: true });
    }
    for (const p of recordedPids(d.dataRoot)) pids.add(p);
    for (const x of daemons) await x.stop();
    for (const p of pids) if (pidAlive(p)) process.kill(p, 'SIGKILL');
    await cleanStateDir(join(d.dataRoot, 'network'), tracker);
    for (const dir of cgroupParentDirs(cgroupParent).reverse()) {
      if (!existsSync(dir)) continue;
      for (const child of readdirSync(dir, { withFileTypes: true })) if (child.isDirectory()) {
        try {
          rmdirSync(join(dir, child.name));
        } catch {
          /* reported by leftovers */
        }
      }
      try {
        rmdirSync(dir);
      } catch {
        /* reported by leftovers */
      }
    }
  };
  hooks.after(cleanup);
  const work = await tempDir(hooks, 'tsdd-bb-');
  await writeBusyboxArchive(join(work, 'busybox.tar'), [IMAGE]);
  const loaded = await first.docker(['load', '-i', join(work, 'busybox.tar')]);
  if (!loaded.stdout.includes(`Loaded image: ${IMAGE}`)) throw new Error(`docker load: ${loaded.stdout}${loaded.stderr}`);
  return {
    get d() {
      return current();
    },
    bridge,
    subnet,
    cgroupParent,
    args,
    cleanup,
    async leftovers() {
      const left = await networkLeftovers(tracker);
      for (const p of pids) if (pidAlive(p)) left.push(describe(p));
      for (const dir of cgroupParentDirs(cgroupParent)) if (existsSync(dir)) left.push(`cgroup ${dir}`);
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
      if (mounts.includes(current().dataRoot)) left.push(`mounts below ${current().dataRoot}`);
      return left;
    },
    async restart(h: Hooks) {
      const old = current();
      for (const p of recordedPids(old.dataRoot)) pids.add(p);
      await old.stop();
      const next = await startTsdockerd(h, { ...options, dataRoot: old.dataRoot, socket: old.socket, extraArgs: [...args, ...(options.extraArgs ?? [])] });
      daemons.push(next);
      return next;
    },
  };
}

/** Run the docker CLI with `input` on its stdin (then closed); its output and exit code. */
export function dockerWithInput(d: RunningTsdockerd, args: string[], input: string | Buffer, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { env: d.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

/** The docker CLI on a pseudo-terminal (util-linux `script`), for `-t`: its output and exit code. */
export function dockerOnTty(d: RunningTsdockerd, command: string, timeoutMs = 60_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], { env: d.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c));
    child.stderr.on('data', (c: Buffer) => (output += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/**
 * One tsdockerd with the busybox image for a whole test file: started before its tests (as
 * root), stopped after them. `ready(t)` skips (or fails in CI) without `programs` or root, and
 * gives the daemon otherwise; `hooks` is where a test registers more cleanups of the file's scope.
 */
export function useContainerDaemon(programs: string[], timeout: number): { ready(t: TestContext): ContainerDaemon | undefined; hooks: Hooks } {
  const shared = sharedHooks();
  let cd: ContainerDaemon | undefined;
  before(async () => {
    if (process.getuid?.() !== 0) return;
    cd = await startContainerDaemon(shared.hooks);
  }, { timeout });
  after(() => shared.cleanup());
  return {
    hooks: shared.hooks,
    ready(t: TestContext): ContainerDaemon | undefined {
      if (!need(t, { programs: ['docker', ...programs], root: true })) return undefined;
      assert.ok(cd, 'the shared tsdockerd did not start');
      return cd;
    },
  };
}
