import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { after, before } from 'node:test';
import { freePort, tempDir, waitFor } from './env.js';
import { OciClient } from './oci-client.js';

const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const registryBin = join(projectRoot, 'bin', 'tsdocker-registry.js');

export interface RunningRegistry {
  /** `http://127.0.0.1:PORT` (`https://` with the `tls` option) */
  url: string;
  /** `127.0.0.1:PORT`, the form image references use. */
  host: string;
  port: number;
  rootDirectory: string;
  configPath: string;
  process: ChildProcess;
  /** Output so far (stdout+stderr), for assertions on logs and for failure messages. */
  output(): string;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
}

export interface StartOptions {
  rootDirectory?: string;
  port?: number;
  /** Extra config merged at top level (e.g. `{ storage: { delete: { enabled: false } } }` replaces storage). */
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  /**
   * The registry serves TLS (`config.http.tls` must then be given, with `addr`): wait for `/v2/`
   * over https trusting `ca` (PEM), and make `url` `https://...`.
   */
  tls?: { ca: string | Buffer };
}

/** Status of `GET url` over https, trusting only `ca`. */
function httpsStatus(url: string, ca: string | Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

type Hooks = { after(fn: () => unknown): void };

/** Start `tsdocker-registry serve CONFIG` as its own process on loopback; stopped when the test ends. */
export async function startRegistry(t: Hooks, options: StartOptions = {}): Promise<RunningRegistry> {
  const port = options.port ?? (await freePort());
  // Registered before the temp dir's removal: node:test runs after-hooks in the order added, and
  // the process must be gone before its directory is removed.
  let stopProcess: () => Promise<void> = async () => {};
  t.after(() => stopProcess());
  const work = await tempDir(t, 'tsdocker-reg-');
  const rootDirectory = options.rootDirectory ?? join(work, 'data');
  const config = {
    version: 0.1,
    log: { level: 'warn' },
    http: { addr: `127.0.0.1:${port}` },
    storage: { filesystem: { rootdirectory: rootDirectory }, delete: { enabled: true } },
    ...options.config,
  };
  const configPath = join(work, 'config.yml');
  await writeFile(configPath, stringify(config));
  const child = spawn(process.execPath, [registryBin, 'serve', configPath], {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  stopProcess = () => signal('SIGKILL');
  const tls = options.tls;
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error('exited');
      const status = tls ? await httpsStatus(`${url}/v2/`, tls.ca) : (await fetch(`${url}/v2/`)).status;
      return status < 500;
    }, `tsdocker-registry on ${url}`);
  } catch (err) {
    await signal('SIGKILL');
    throw new Error(`registry did not start: ${(err as Error).message}\n${out}`);
  }
  return {
    url,
    host: `127.0.0.1:${port}`,
    port,
    rootDirectory,
    configPath,
    process: child,
    output: () => out,
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
  };
}

/**
 * One registry for a whole describe block: started before its tests, stopped after them.
 * `ready` receives it (and a client for it) once it answers.
 */
export function useSharedRegistry(ready: (registry: RunningRegistry, client: OciClient) => void | Promise<void>, options: StartOptions = {}): void {
  const cleanups: Array<() => unknown> = [];
  before(async () => {
    const registry = await startRegistry({ after: (fn) => void cleanups.push(fn) }, options);
    await ready(registry, new OciClient(registry.url));
  });
  after(async () => {
    for (const fn of cleanups.reverse()) await Promise.resolve(fn()).catch(() => {});
  });
}
