/**
 * Running the host's network programs (iproute2 `ip`, `iptables`) without a shell: arguments are
 * passed as a vector, and a failure becomes an error carrying the command and its stderr.
 */
import { spawn } from 'node:child_process';

export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${command}: ${stderr.trim() || `exited with ${exitCode}`}`);
    this.name = 'CommandError';
  }
}

export interface ExecOptions {
  /** Written to the program's stdin (batch mode). */
  input?: string;
  /** Return the result instead of throwing when the program fails. */
  allowFailure?: boolean;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function exec(cmd: string, args: string[], options: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0 || options.allowFailure) resolve({ code, stdout, stderr });
      else reject(new CommandError(`${cmd} ${args.join(' ')}`, code, stderr));
    });
    if (options.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // the program may exit before reading everything; its status says why
      child.stdin.end(options.input);
    }
  });
}
