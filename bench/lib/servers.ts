import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { freePort } from '../../test/helpers/env.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';

export type ServerKind = 'tsdocker' | 'distribution';

export interface StartOptions {
  kind: ServerKind;
  /** Project root (where bin/tsdocker-registry.js lives). */
  projectRoot: string;
  /** Where the server's stdout/stderr go. */
  logDir: string;
  label: string;
  /** Extra arguments for node before the script (ours only), e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** distribution only: storage.cache.blobdescriptor: inmemory. */
  distributionCache?: boolean;
  /** Replaces the default `filesystem` driver section (e.g. `{ s3: {...} }`); `delete` and the rest are kept. */
  storage?: Record<string, unknown>;
  /** Log file name in logDir (default `<label>.log`). */
  logName?: string;
  readyTimeoutMs?: number;
}


/** Every process we started, so a signal handler can stop them all (by PID, ours only). */
const live = new Set<RegistryProcess>();

export class RegistryProcess {
  readonly url: string;
  readonly logPath: string;
  private exited: Promise<void>;

  private constructor(
    readonly label: string,
    readonly kind: ServerKind,
    readonly child: ChildProcess,
    readonly port: number,
    readonly workDir: string,
    logPath: string,
  ) {
    this.url = `http://127.0.0.1:${port}`;
    this.logPath = logPath;
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  static async start(options: StartOptions): Promise<RegistryProcess> {
    const port = await freePort();
    const workDir = await mkdtemp(join(tmpdir(), `tsdocker-bench-${options.label}-`));
    const rootdirectory = join(workDir, 'data');
    const log: Record<string, unknown> = { level: 'warn' };
    // distribution writes its access log to stdout whatever the level; turn it off so both servers
    // log only warnings.
    if (options.kind === 'distribution') log.accesslog = { disabled: true };
    const storage: Record<string, unknown> = {
      ...(options.storage ?? { filesystem: { rootdirectory } }),
      delete: { enabled: true },
    };
    if (options.kind === 'distribution' && options.distributionCache) storage.cache = { blobdescriptor: 'inmemory' };
    const config = { version: 0.1, log, http: { addr: `127.0.0.1:${port}` }, storage };
    const configPath = join(workDir, 'config.yml');
    await writeFile(configPath, stringify(config));

    const env = { ...process.env };
    delete env.AWS_CA_BUNDLE;
    const logPath = join(options.logDir, options.logName ?? `${options.label}.log`);
    const fd = openSync(logPath, 'w');
    let child: ChildProcess;
    try {
      child =
        options.kind === 'distribution'
          ? spawn('/usr/bin/docker-registry', ['serve', configPath], { env, stdio: ['ignore', fd, fd], cwd: workDir })
          : spawn(
              process.execPath,
              [...(options.nodeArgs ?? []), join(options.projectRoot, 'bin', 'tsdocker-registry.js'), 'serve', configPath],
              { env, stdio: ['ignore', fd, fd], cwd: options.projectRoot },
            );
    } finally {
      closeSync(fd);
    }
    const proc = new RegistryProcess(options.label, options.kind, child, port, workDir, logPath);
    live.add(proc);
    child.once('error', () => undefined);
    try {
      await proc.waitReady(options.readyTimeoutMs ?? 30_000);
    } catch (err) {
      await proc.stop();
      const tail = (await readFile(logPath, 'utf8').catch(() => '')).slice(-2000);
      throw new Error(`${options.label} (${options.kind}) did not start: ${(err as Error).message}\n${tail}`);
    }
    return proc;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`exited with ${this.child.exitCode ?? this.child.signalCode}`);
      try {
        const res = await fetch(`${this.url}/v2/`, { signal: AbortSignal.timeout(2000) });
        await res.arrayBuffer();
        if (res.status < 500) return;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error(`no answer to GET /v2/ within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** CPU seconds (user+system) of the server and its live descendants. */
  cpuSeconds(): number {
    return processTreeCpuSeconds(this.pid);
  }

  /** SIGTERM, then SIGKILL after a grace period; removes the work dir unless kept. */
  async stop(options: { keep?: boolean; graceMs?: number } = {}): Promise<void> {
    if (this.running && this.pid > 0) {
      try {
        process.kill(this.pid, 'SIGTERM');
      } catch {
        /* gone */
      }
      const timer = setTimeout(() => {
        if (this.running) {
          try {
            process.kill(this.pid, 'SIGKILL');
          } catch {
            /* gone */
          }
        }
      }, options.graceMs ?? 5000);
      await this.exited;
      clearTimeout(timer);
    }
    live.delete(this);
    if (!options.keep) await rm(this.workDir, { recursive: true, force: true });
  }

  /** Synchronous last resort (process 'exit'). */
  killNow(): void {
    if (this.running && this.pid > 0) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
}

export function liveServers(): RegistryProcess[] {
  return [...live];
}

const clockTicks = 100; // USER_HZ: 100 on Linux for every architecture we run on

function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (comm)": index 0 is field 3 (state).
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

export function processTreeCpuSeconds(root: number): number {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (!f) continue;
    const ppid = Number(f[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(name));
    children.set(ppid, list);
  }
  let ticks = 0;
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    const f = statFields(pid);
    if (f) ticks += Number(f[11]) + Number(f[12]); // utime, stime
    stack.push(...(children.get(pid) ?? []));
  }
  return ticks / clockTicks;
}

export function distributionVersion(): string {
  try {
    return execFileSync('/usr/bin/docker-registry', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/** CPU seconds the whole machine spent busy (all CPUs, not idle or iowait) since boot. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - v[3]! - v[4]!) / clockTicks;
}

/** CPU seconds of this process plus its reaped children (wrk). */
export function selfCpuSeconds(): number {
  const f = statFields(process.pid)!;
  return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / clockTicks;
}

export { freePort };
