/**
 * `tsdocker start [-a] [-i] [--detach-keys K] CONTAINER...` (also `container start`): without -a
 * or -i each container is started and named on stdout (failures reported, then
 * `Error: failed to start containers: ...`); with them one container is attached (stdin only when
 * it was created with -i), started and streamed, and its exit status is the CLI's.
 */
import { CliError, ExitStatus } from '../cli-error.js';
import type { CommandSpec } from '../command-kit.js';
import { attachedSession, StartFailed } from '../container/attached-session.js';
import { inspectContainer, startContainer } from '../container/container-api.js';

interface StartOptions {
  attach?: boolean;
  interactive?: boolean;
  detachKeys?: string;
}

export const startCommand: CommandSpec<StartOptions> = {
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Start one or more stopped containers',
  args: { min: 1 },
  options: (c) =>
    c
      .option('-a, --attach', 'Attach STDOUT/STDERR and forward signals')
      .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
      .option('-i, --interactive', "Attach container's STDIN"),
  async run(ctx, names, options) {
    if (!options.attach && !options.interactive) {
      const failed: string[] = [];
      for (const name of names) {
        try {
          await startContainer(ctx, name);
          ctx.out(`${name}\n`);
        } catch (err) {
          ctx.err(`${(err as Error).message}\n`);
          failed.push(name);
        }
      }
      if (failed.length > 0) throw new CliError(`Error: failed to start containers: ${failed.join(', ')}`);
      return;
    }
    if (names.length > 1) throw new CliError('you cannot start and attach multiple containers at once');
    const container = await inspectContainer(ctx, names[0]!);
    const tty = container.Config.Tty;
    const stdin = Boolean(options.interactive) && container.Config.OpenStdin;
    if (stdin && tty && !ctx.stdinIsTerminal) throw new CliError('the input device is not a TTY');
    let end;
    try {
      end = await attachedSession(ctx, {
        id: container.Id,
        tty,
        streams: { stdin, stdout: true, stderr: true },
        detachKeys: options.detachKeys,
        autoRemove: Boolean(container.HostConfig.AutoRemove),
        sigProxy: !tty,
      });
    } catch (err) {
      throw err instanceof StartFailed ? err.error : err;
    }
    if (end.kind === 'exited' && end.status !== 0) throw new ExitStatus(end.status);
  },
};
