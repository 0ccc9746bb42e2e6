/**
 * Run a program once and time it from just before spawn to its exit (stdout discarded, stderr
 * kept for the error). The spawn itself (a few ms from Node) is inside the time, the same for
 * every command-line tool measured this way.
 */
import { spawn } from 'node:child_process';

export interface CommandOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

export class CommandError extends Error {
  constructor(readonly command: string, readonly exit: number | string, readonly stderr: string) {
    super(`${command}: exited with ${exit}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
}

/** Milliseconds from spawn to exit; rejects with the program's stderr when it does not exit 0. */
export function timeCommand(cmd: string, args: string[], options: CommandOptions = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: options.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let ms = 0;
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
    }, options.timeoutMs ?? 60_000);
    child.once('exit', () => (ms = Number(process.hrtime.bigint() - t0) / 1e6));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${cmd}: ${err.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve(ms);
      reject(new CommandError(`${cmd} ${args.join(' ')}`, code ?? signal ?? '?', stderr));
    });
  });
}
