/**
 * How `run` fails, as docker's does: the message as `tsdocker: MESSAGE` with a pointer to the
 * help, and exit status 125 for a daemon or usage failure, 127 when the command was not found,
 * 126 when it could not be invoked (docker reads those from the daemon's words).
 */
import { programName } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { ExitStatus } from '../cli-error.js';

export function startFailureStatus(message: string): number {
  const text = message.replace(/^Error response from daemon: /, '');
  if (/executable file not found|no such file or directory|system cannot find the file specified/.test(text)) return 127;
  if (/permission denied|is a directory/.test(text)) return 126;
  return 125;
}

/**
 * Print the failure of `tsdocker COMMAND` and give the status to exit with: the one the message
 * implies for a create or start failure, 125 for a bad option (`usage`).
 */
export function reportRunError(ctx: CliContext, command: string, err: unknown, kind: 'usage' | 'daemon' = 'daemon'): ExitStatus {
  const message = err instanceof Error ? err.message : String(err);
  ctx.err(`${programName}: ${message}\n\nRun '${programName} ${command} --help' for more information\n`);
  return new ExitStatus(kind === 'usage' ? 125 : startFailureStatus(message));
}
