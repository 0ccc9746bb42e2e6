/**
 * An archive the daemon streams (`save`, `export`) written to `-o FILE` (beside it first and
 * renamed into place, so a failure leaves no partial file) or to stdout when that is not a
 * terminal.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { CliError } from './cli-error.js';
import type { CliContext } from './context.js';
import { fsError } from './fs-errors.js';

export function refuseTerminal(ctx: CliContext, output: string | undefined): void {
  if (!output && ctx.stdoutIsTerminal) throw new CliError('cowardly refusing to save to a terminal. Use the -o flag or redirect');
}

export async function writeArchive(ctx: CliContext, response: IncomingMessage, output: string | undefined, what: string): Promise<void> {
  if (!output) {
    await pipeline(response, ctx.stdout, { end: false });
    return;
  }
  const temp = join(dirname(output), `.tsdocker_temp_${basename(output)}.${randomBytes(4).toString('hex')}`);
  try {
    await pipeline(response, createWriteStream(temp, { mode: 0o600, flags: 'wx' }));
    await rename(temp, output);
  } catch (err) {
    response.destroy();
    await rm(temp, { force: true });
    if ((err as NodeJS.ErrnoException).code && (err as NodeJS.ErrnoException).syscall) throw fsError('open', output, err);
    throw new CliError(`failed to ${what}: ${(err as Error).message}`, { cause: err });
  }
}
