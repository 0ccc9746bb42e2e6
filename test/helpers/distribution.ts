// CNCF distribution (Debian package docker-registry) as a peer registry on loopback.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { freePort, tempDir, waitFor } from './env.js';

export const distributionBin = '/usr/bin/docker-registry';

export interface RunningDistribution {
  url: string;
  host: string;
  port: number;
  rootDirectory: string;
  configPath: string;
  process: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited after 10 s; resolves when it has exited. */
  stop(): Promise<void>;
}

type Hooks = { after(fn: () => unknown): void };

export async function startDistribution(
  t: Hooks,
  options: { rootDirectory?: string; port?: number; /** replaces the filesystem storage section */ storage?: Record<string, unknown> } = {},
): Promise<RunningDistribution> {
  const port = options.port ?? (await freePort());
  const work = await tempDir(t, 'tsdocker-distribution-');
  const rootDirectory = options.rootDirectory ?? join(work, 'data');
  const configPath = join(work, 'config.yml');
  await writeFile(
    configPath,
    stringify({
      version: 0.1,
      log: { level: 'warn', accesslog: { disabled: true } },
      storage: options.storage ?? { filesystem: { rootdirectory: rootDirectory }, delete: { enabled: true } },
      http: { addr: `127.0.0.1:${port}` },
    }),
  );
  // distribution's AWS SDK setup trips over AWS_CA_BUNDLE even with filesystem storage.
  const env = { ...process.env };
  delete env.AWS_CA_BUNDLE;
  const child = spawn(distributionBin, ['serve', configPath], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  child.on('error', (err) => (out += `spawn error: ${err.message}\n`));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const running = () => child.exitCode === null && child.signalCode === null && child.pid !== undefined;
  const stop = async () => {
    if (!running()) return exited;
    process.kill(child.pid!, 'SIGTERM');
    const timer = setTimeout(() => {
      if (running()) process.kill(child.pid!, 'SIGKILL');
    }, 10_000);
    await exited;
    clearTimeout(timer);
  };
  t.after(stop);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(async () => {
      if (!running()) throw new Error('exited');
      return (await fetch(`${url}/v2/`)).status === 200;
    }, `docker-registry on ${url}`);
  } catch (err) {
    await stop();
    throw new Error(`docker-registry did not start: ${(err as Error).message}\n${out}`);
  }
  return { url, host: `127.0.0.1:${port}`, port, rootDirectory, configPath, process: child, output: () => out, stop };
}
