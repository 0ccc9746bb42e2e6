/**
 * The tsdocker CLI's entry: parse, run one command against the daemon, and turn the outcome into
 * docker's output and exit status (0, 1 for failures and usage errors, 125 for bad flags).
 * Bad input caught below the CLI (a TsdError: an invalid reference, a bad template) is printed
 * with its message and exits 1, as docker does with its own parse errors.
 */
import { readFileSync } from 'node:fs';
import { CliError } from './cli-error.js';
import { HelpShown } from './command-kit.js';
import { CliContext, type CliStreams } from './context.js';
import { buildProgram } from './program.js';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Run `tsdocker ARGS...`; resolves to the exit status. */
export async function main(
  argv: string[],
  streams: CliStreams = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr },
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const ctx = new CliContext(streams, env, packageVersion());
  // A reader that went away (`tsdocker images | head -1`) is not worth a message.
  streams.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') ctx.err(`${err.message}\n`);
  });
  try {
    await (await buildProgram(ctx, argv)).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof HelpShown) return 0;
    const message = err instanceof Error ? err.message : String(err);
    if (message !== '') ctx.err(`${message}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}
