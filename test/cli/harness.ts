// Shared pieces of the CLI tests: run `tsdocker` (the real bin, as its own process) and the real
// docker CLI against one private dockerd, each with its own DOCKER_CONFIG, with stdin if wanted.
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PrivateDockerd } from '../helpers/dockerd.js';
import { tempDir } from '../helpers/env.js';

const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const tsdockerBin = join(projectRoot, 'bin', 'tsdocker.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout as bytes (for `save` to a pipe). */
  raw: Buffer;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, then stdin is closed (default: stdin is closed at once). */
  input?: string | Buffer;
  timeoutMs?: number;
}

/** Run a program to completion without a shell, feeding `input`; never throws on a non-zero exit. */
export function runWithInput(cmd: string, args: string[], options: CliOptions = {}): Promise<CliResult> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.on('error', () => {
      /* the program may exit without reading */
    });
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${err.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const raw = Buffer.concat(out);
      resolve({ code, stdout: raw.toString('utf8'), stderr, raw });
    });
    child.stdin.end(options.input);
  });
}

export type Cli = (args: string[], options?: CliOptions) => Promise<CliResult>;

export interface Clis {
  /** `tsdocker -H <dockerd> ARGS` with DOCKER_CONFIG=`tsConfig`. */
  tsdocker: Cli;
  /** `docker -H <dockerd> ARGS` with DOCKER_CONFIG=`dockerConfig`. */
  docker: Cli;
  tsConfig: string;
  dockerConfig: string;
  env: NodeJS.ProcessEnv;
}

/** A daemon the CLIs can talk to: a private dockerd or a tsdockerd. */
export type DaemonEndpoint = Pick<PrivateDockerd, 'host' | 'env'>;

/** Both CLIs against `dockerd` (or a tsdockerd), each with a fresh config directory of its own. */
export async function clis(hooks: { after(fn: () => unknown): void }, dockerd: DaemonEndpoint): Promise<Clis> {
  const dir = await tempDir(hooks, 'tsd-cli-');
  const tsConfig = join(dir, 'tsdocker-config');
  const dockerConfig = join(dir, 'docker-config');
  for (const d of [tsConfig, dockerConfig]) await mkdir(d, { mode: 0o700 });
  await writeFile(join(dockerConfig, 'config.json'), '{}');
  const env: NodeJS.ProcessEnv = { ...dockerd.env, HOME: dir };
  delete env.DOCKER_HOST;
  return {
    tsdocker: (args, o = {}) => runWithInput(process.execPath, [tsdockerBin, '-H', dockerd.host, ...args], { ...o, env: { ...env, DOCKER_CONFIG: tsConfig, ...o.env } }),
    docker: (args, o = {}) => runWithInput('docker', ['-H', dockerd.host, ...args], { ...o, env: { ...env, DOCKER_CONFIG: dockerConfig, ...o.env } }),
    tsConfig,
    dockerConfig,
    env,
  };
}

/** A failure message that shows what the command printed. */
export function show(r: CliResult): string {
  return `exit ${r.code}\n--- stdout\n${r.stdout.slice(0, 4000)}\n--- stderr\n${r.stderr.slice(0, 4000)}`;
}

/** The rows of a table, header first, the rest sorted (docker orders an image's repositories randomly). */
export function tableRows(stdout: string): { header: string; rows: string[] } {
  const lines = stdout.split('\n').filter((l) => l !== '');
  return { header: lines[0] ?? '', rows: lines.slice(1).sort() };
}

/** Output lines sorted (for listings without a header). */
export function sortedLines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l !== '').sort();
}

/** docker's text with tsdocker's name (the program, not paths like /tmp/tsdocker-test-...). */
export function asTsdocker(text: string): string {
  return text.replace(/(?<![\w/.-])docker(?![\w.-])/g, 'tsdocker');
}
