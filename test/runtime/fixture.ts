/**
 * Shared setup of the runtime tests: a busybox rootfs committed once as a snapshot (overlay
 * where it works, else vfs), one container per test on top of it, a cgroup parent of the file's
 * own below the test process's cgroup, and cleanup that works even when a test fails: shims and
 * inits are killed by PID, containers removed, snapshots removed. `assertNoLeftovers` is each
 * file's final check.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFile, mkdir, readFile, symlink, writeFile, chmod } from 'node:fs/promises';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { openSnapshotter, type Snapshotter } from '../../engine/snapshots/index.js';
import { buildSpec, createContainer, readJsonLog, type Container, type ExitStatus, type ImageRunConfig, type RunOptions } from '../../engine/runtime/index.js';
import { cgroupLayout, parseProcCgroup } from '../../engine/runtime/cgroups.js';
import { processAlive, readState } from '../../engine/runtime/state.js';

export const BUSYBOX = '/usr/bin/busybox';

export const PASSWD = ['root:x:0:0:root:/root:/bin/sh', 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false', 'app:x:1000:1000:app user:/home/app:/bin/sh', ''].join('\n');
export const GROUP = ['root:x:0:root', 'wheel:x:10:root,app', 'staff:x:50:app', 'app:x:1000:', 'nogroup:x:65534:', ''].join('\n');

/** A minimal rootfs: busybox with every applet linked in /bin, users, a few dirs. */
export async function buildBusyboxRootfs(dir: string): Promise<void> {
  for (const d of ['bin', 'etc', 'root', 'home/app', 'tmp', 'var', 'proc', 'sys', 'dev']) await mkdir(join(dir, d), { recursive: true });
  await chmod(join(dir, 'tmp'), 0o1777);
  await copyFile(BUSYBOX, join(dir, 'bin/busybox'));
  await chmod(join(dir, 'bin/busybox'), 0o755);
  const applets = execFileSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) await symlink('busybox', join(dir, 'bin', a));
  await writeFile(join(dir, 'etc/passwd'), PASSWD);
  await writeFile(join(dir, 'etc/group'), GROUP);
  await writeFile(join(dir, 'etc/secret-of-image'), 'image file\n');
}

interface Hooks {
  before(fn: () => unknown): void;
  after(fn: () => unknown): void;
}

export interface RunResult extends ExitStatus {
  stdout: string;
  stderr: string;
}

export class RuntimeFixture {
  dir = '';
  snapshotter!: Snapshotter;
  readonly cgroupParent = `tsdocker-test-${process.pid}-${randomBytes(3).toString('hex')}`;
  private n = 0;

  /** Set up in `before`, torn down in `after` of the test file (the root check happens per test). */
  static use(hooks: Hooks, enabled: () => boolean): RuntimeFixture {
    const f = new RuntimeFixture();
    hooks.before(async () => {
      if (enabled()) await f.setup();
    });
    hooks.after(() => f.teardown());
    return f;
  }

  private async setup(): Promise<void> {
    this.dir = execFileSync('mktemp', ['-d', '/tmp/tsd-rt-XXXXXX'], { encoding: 'utf8' }).trim();
    this.snapshotter = await openSnapshotter({ root: join(this.dir, 'snap') });
    await this.snapshotter.prepare('base-active');
    const { dir } = await this.snapshotter.applyTarget('base-active');
    await buildBusyboxRootfs(dir);
    await this.snapshotter.commit('busybox', 'base-active');
  }

  private async teardown(): Promise<void> {
    if (!this.dir) return;
    for (const d of this.cgroupDirs()) {
      try {
        rmdirSync(d);
      } catch {
        /* reported by assertNoLeftovers */
      }
    }
    try {
      execFileSync('rm', ['-rf', this.dir]);
    } catch {
      /* leave it */
    }
  }

  get stateRoot(): string {
    return join(this.dir, 'state');
  }

  /** The file's cgroup parent in every hierarchy the runtime uses. */
  cgroupDirs(): string[] {
    return cgroupParentDirs(this.cgroupParent);
  }

  /** Create a container on a fresh snapshot; it is killed and removed when the test ends. */
  async create(t: { after(fn: () => unknown): void }, run: RunOptions = {}, image: ImageRunConfig = {}): Promise<Container> {
    const key = `ctr-${++this.n}`;
    const mounts = await this.snapshotter.prepare(key, 'busybox');
    const spec = buildSpec(mounts, image, run);
    const c = await createContainer(spec, { stateRoot: this.stateRoot, cgroupParent: this.cgroupParent });
    t.after(() => this.destroy(c, key));
    return c;
  }

  async destroy(c: Container, key: string): Promise<void> {
    try {
      const s = readState(c.stateDir);
      if (s.shimPid && processAlive(s.shimPid, s.shimStartTime)) process.kill(s.shimPid, 'SIGKILL');
      if (s.pid && s.status === 'running') {
        try {
          process.kill(s.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    } catch {
      /* no state dir any more */
    }
    try {
      if (existsSync(c.stateDir)) await c.remove({ force: true });
    } catch (err) {
      process.stderr.write(`warning: removing container ${c.id}: ${(err as Error).message}\n`);
    }
    try {
      await this.snapshotter.remove(key);
    } catch (err) {
      process.stderr.write(`warning: removing snapshot ${key}: ${(err as Error).message}\n`);
    }
  }

  /** Create, start, wait; the output from the json-file log. */
  async run(t: { after(fn: () => unknown): void }, run: RunOptions, image: ImageRunConfig = {}): Promise<RunResult> {
    const c = await this.create(t, run, image);
    await c.start();
    const status = await c.wait();
    return { ...status, ...(await logOutput(c.logPath)) };
  }

  /** No cgroup of this file left (only the empty parent), no mount naming the file's directory. */
  assertNoLeftovers(): void {
    for (const d of this.cgroupDirs()) {
      if (!existsSync(d)) continue;
      const children = readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
      assert.deepEqual(children, [], `leftover cgroups below ${d}`);
    }
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => this.dir && l.includes(this.dir));
    assert.deepEqual(mounts, [], 'leftover mounts');
    const shims = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(this.dir) && processAlive(Number(p), undefined);
      } catch {
        return false;
      }
    });
    assert.deepEqual(shims, [], 'leftover shim processes');
  }
}

/** A relative cgroup parent's directory in every hierarchy the runtime uses. */
export function cgroupParentDirs(parent: string): string[] {
  const layout = cgroupLayout();
  const own = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  if (layout.version === 2) return [join(layout.mount, own.get('') ?? '/', parent)];
  return Object.entries(layout.mounts).map(([c, mount]) => join(mount, own.get(c) ?? '/', parent));
}

export async function logOutput(path: string): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  for await (const e of readJsonLog(path)) {
    if (e.stream === 'stdout') stdout += e.log;
    else stderr += e.log;
  }
  return { stdout, stderr };
}

export async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

/** Collect a readable stream until `pattern` appears in it (or time out). */
export function readUntil(stream: NodeJS.ReadableStream, pattern: RegExp | string, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      stream.off('data', onData);
      reject(new Error(`timed out waiting for ${String(pattern)}; got ${JSON.stringify(text)}`));
    }, timeoutMs);
    const onData = (d: Buffer): void => {
      text += d.toString('utf8');
      if (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text)) {
        clearTimeout(timer);
        stream.off('data', onData);
        resolve(text);
      }
    };
    stream.on('data', onData);
  });
}
