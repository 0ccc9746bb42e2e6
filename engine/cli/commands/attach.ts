/**
 * `tsdocker attach [--no-stdin] [--sig-proxy=false] [--detach-keys K] CONTAINER`: the running
 * container's streams here (stdin only when it was created with -i), until it exits (its status
 * is the CLI's) or the detach keys are typed.
 */
import { Option } from 'commander';
import { CliError, ExitStatus } from '../cli-error.js';
import type { CommandSpec } from '../command-kit.js';
import { streamAttached } from '../container/attach-streams.js';
import { attachContainer, containerPath, inspectContainer, resizeTty, type ContainerJSON } from '../container/container-api.js';
import { countTerminations, proxySignals } from '../container/signal-proxy.js';
import { monitorTerminalSize, terminalSize } from '../container/terminal.js';
import type { CliContext } from '../context.js';

interface AttachOptions {
  stdin?: boolean;
  sigProxy?: boolean;
  detachKeys?: string;
}

function checkState(container: ContainerJSON): void {
  if (!container.State.Running) throw new CliError('You cannot attach to a stopped container, start it first');
  if (container.State.Paused) throw new CliError('You cannot attach to a paused container, unpause it first');
  if (container.State.Restarting) throw new CliError('You cannot attach to a restarting container, wait until it is running');
}

/** The status of the container's exit (docker waits for `not-running`, asked before attaching). */
function waitNotRunning(ctx: CliContext, id: string): Promise<number> {
  return ctx.api.json<{ StatusCode?: number; Error?: { Message?: string } | null }>({ method: 'POST', path: containerPath(id, '/wait') }).then((r) => {
    if (r.Error?.Message) throw new CliError(r.Error.Message);
    return r.StatusCode ?? 0;
  });
}

export const attachCommand: CommandSpec<AttachOptions> = {
  usage: '[OPTIONS] CONTAINER',
  description: 'Attach local standard input, output, and error streams to a running container',
  args: { exactly: 1 },
  options: (c) =>
    c
      .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
      .option('--no-stdin', 'Do not attach STDIN')
      .option('--sig-proxy', 'Proxy all received signals to the process (default true)')
      .addOption(new Option('--no-sig-proxy').hideHelp()),
  async run(ctx, [name], options) {
    const exited = waitNotRunning(ctx, name!);
    exited.catch(() => {});
    const container = await inspectContainer(ctx, name!);
    checkState(container);
    const tty = container.Config.Tty;
    const wantStdin = options.stdin !== false;
    if (wantStdin && tty && !ctx.stdinIsTerminal) throw new CliError('the input device is not a TTY');
    const stdin = wantStdin && container.Config.OpenStdin;
    const stopSignals = options.sigProxy !== false && !tty ? proxySignals(ctx, container.Id) : countTerminations(ctx);
    try {
      const connection = await attachContainer(ctx, name!, { stdin, stdout: true, stderr: true }, options.detachKeys);
      checkState(await inspectContainer(ctx, name!));
      let stopResize = () => {};
      if (tty && ctx.stdoutIsTerminal) {
        const { height, width } = terminalSize(ctx.stdout);
        // docker nudges the size first, so a shell redraws its prompt on a second attach.
        await resizeTty(ctx, { container: name! }, { height: height + 1, width: width + 1 }).catch(() => {});
        stopResize = monitorTerminalSize(() => terminalSize(ctx.stdout), (size) => resizeTty(ctx, { container: name! }, size), () => {});
      }
      let outcome;
      try {
        outcome = await streamAttached({
          connection,
          tty,
          stdin: stdin ? ctx.stdin : undefined,
          stdout: ctx.stdout,
          stderr: ctx.stderr,
          detachKeys: options.detachKeys,
          warn: (text) => ctx.err(text),
        });
      } finally {
        stopResize();
      }
      if (outcome === 'detached') throw new CliError('read escape sequence');
      const status = await exited;
      if (status !== 0) throw new ExitStatus(status);
    } finally {
      stopSignals();
    }
  },
};
