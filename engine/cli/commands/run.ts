/**
 * `tsdocker run [OPTIONS] IMAGE [COMMAND] [ARG...]` (also `container run`): create the container
 * (pulling a missing image), then either start it and print its ID (-d), or attach, start and
 * stream until it exits, exiting with its status as docker does (125 for daemon errors, 126/127
 * for a command that cannot be invoked or found). --rm waits until the daemon removed it.
 */
import { Option } from 'commander';
import { CliError, ExitStatus } from '../cli-error.js';
import type { CommandSpec } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { attachedSession, StartFailed } from '../container/attached-session.js';
import { startContainer } from '../container/container-api.js';
import { createRequest, type CreateRequest } from '../container/container-config.js';
import { createContainer } from '../container/create-container.js';
import { pullPolicy, type PullPolicy } from '../container/flag-values.js';
import { addContainerFlags, type ContainerFlags } from '../container/run-flags.js';
import { reportRunError } from '../container/run-errors.js';
import { terminalSize } from '../container/terminal.js';

export interface RunOptions extends ContainerFlags {
  net?: string;
  detach?: boolean;
  sigProxy?: boolean;
  detachKeys?: string;
}

/** Parse the flags into a create request; bad values are reported as docker reports them (125). */
export async function prepareCreate(ctx: CliContext, command: string, image: string, args: string[], options: RunOptions): Promise<{ request: CreateRequest; pull: PullPolicy }> {
  try {
    const pull = pullPolicy(options.pull ?? 'missing');
    const request = await createRequest(image, args, options, ctx.env);
    if (request.tty && ctx.stdoutIsTerminal) {
      const { height, width } = terminalSize(ctx.stdout);
      (request.body.HostConfig as Record<string, unknown>).ConsoleSize = [height, width];
    }
    return { request, pull };
  } catch (err) {
    throw reportRunError(ctx, command, err, 'usage');
  }
}

export const runCommand: CommandSpec<RunOptions> = {
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create and run a new container from an image',
  args: { min: 1 },
  options: (c, ctx) => {
    addContainerFlags(c, ctx);
    c.option('-d, --detach', 'Run container in background and print container ID')
      .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
      .option('--sig-proxy', 'Proxy received signals to the process (default true)')
      .addOption(new Option('--no-sig-proxy').hideHelp());
  },
  async run(ctx, [image, ...args], options) {
    const { request, pull } = await prepareCreate(ctx, 'run', image!, args, options);
    const detach = Boolean(options.detach);
    const streams = { ...request.attach };
    if (detach) {
      if ((options.attach ?? []).length > 0) throw new CliError('conflicting options: cannot specify both --attach and --detach');
      Object.assign(request.body, { AttachStdin: false, AttachStdout: false, AttachStderr: false, StdinOnce: false });
      streams.stdin = streams.stdout = streams.stderr = false;
    } else if (streams.stdin && request.tty && !ctx.stdinIsTerminal) {
      throw new CliError('the input device is not a TTY');
    }

    let id: string;
    try {
      id = await createContainer(ctx, request.body, { name: options.name, platform: options.platform, pull, quiet: options.quiet, cidfile: options.cidfile });
    } catch (err) {
      throw reportRunError(ctx, 'run', err);
    }

    if (!streams.stdin && !streams.stdout && !streams.stderr) {
      ctx.out(`${id}\n`);
      try {
        await startContainer(ctx, id);
      } catch (err) {
        throw reportRunError(ctx, 'run', err);
      }
      return;
    }
    let end;
    try {
      end = await attachedSession(ctx, {
        id,
        tty: request.tty,
        streams,
        detachKeys: options.detachKeys,
        autoRemove: request.autoRemove,
        sigProxy: options.sigProxy !== false,
      });
    } catch (err) {
      if (err instanceof StartFailed) throw reportRunError(ctx, 'run', err.error);
      throw err;
    }
    if (end.kind === 'input-done') ctx.out(`${id}\n`);
    if (end.kind === 'exited' && end.status !== 0) throw new ExitStatus(end.status);
  },
};
