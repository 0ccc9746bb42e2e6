/**
 * `tsdocker exec [-d] [-i] [-t] [-e ENV] [--env-file F] [-u USER] [-w DIR] [--privileged]
 * CONTAINER COMMAND [ARG...]`: POST /containers/{id}/exec, then /exec/{id}/start, either detached
 * or hijacked and streamed; the CLI exits with the command's status (from /exec/{id}/json).
 */
import { CliError, ExitStatus } from '../cli-error.js';
import { collect, type CommandSpec } from '../command-kit.js';
import { streamAttached } from '../container/attach-streams.js';
import { containerPath, inspectContainer, resizeTty } from '../container/container-api.js';
import { environment } from '../container/env-file.js';
import { environmentEntry, flagList } from '../container/flag-values.js';
import { monitorTerminalSize, terminalSize } from '../container/terminal.js';

interface ExecOptions {
  detach?: boolean;
  detachKeys?: string;
  env?: string[];
  envFile?: string[];
  interactive?: boolean;
  privileged?: boolean;
  tty?: boolean;
  user?: string;
  workdir?: string;
}

export const execCommand: CommandSpec<ExecOptions> = {
  usage: '[OPTIONS] CONTAINER COMMAND [ARG...]',
  description: 'Execute a command in a running container',
  args: { min: 2 },
  options: (c, ctx) => {
    c.passThroughOptions();
    c.option('-d, --detach', 'Detached mode: run command in the background')
      .option('--detach-keys <string>', 'Override the key sequence for detaching a container')
      .option('-e, --env <list>', 'Set environment variables', flagList(environmentEntry(ctx.env)))
      .option('--env-file <list>', 'Read in a file of environment variables', collect)
      .option('-i, --interactive', 'Keep STDIN open even if not attached')
      .option('--privileged', 'Give extended privileges to the command')
      .option('-t, --tty', 'Allocate a pseudo-TTY')
      .option('-u, --user <string>', 'Username or UID (format: "<name|uid>[:<group|gid>]")')
      .option('-w, --workdir <string>', 'Working directory inside the container');
  },
  async run(ctx, [name, ...command], options) {
    const env = await environment(options.envFile ?? [], options.env ?? [], ctx.env);
    const tty = Boolean(options.tty);
    const detach = Boolean(options.detach);
    const attach = { stdin: !detach && Boolean(options.interactive), stdout: !detach, stderr: !detach };
    // A missing container is the error to report, before the TTY check and before an exec exists.
    await inspectContainer(ctx, name!);
    if (!detach && attach.stdin && tty && !ctx.stdinIsTerminal) throw new CliError('the input device is not a TTY');
    const created = await ctx.api.json<{ Id?: string }>({
      method: 'POST',
      path: containerPath(name!, '/exec'),
      json: {
        User: options.user ?? '',
        Privileged: Boolean(options.privileged),
        Tty: tty,
        AttachStdin: attach.stdin,
        AttachStderr: attach.stderr,
        AttachStdout: attach.stdout,
        DetachKeys: options.detachKeys ?? '',
        Env: env.length > 0 ? env : null,
        WorkingDir: options.workdir ?? '',
        Cmd: command,
      },
    });
    const execId = created.Id;
    if (!execId) throw new CliError('exec ID empty');
    const startPath = `/exec/${encodeURIComponent(execId)}/start`;
    if (detach) {
      await ctx.api.call({ method: 'POST', path: startPath, json: { Detach: true, Tty: tty } });
      return;
    }
    const connection = await ctx.api.upgrade({ method: 'POST', path: startPath, json: { Detach: false, Tty: tty } });
    let stopResize = () => {};
    if (tty && ctx.stdinIsTerminal) {
      stopResize = monitorTerminalSize(() => terminalSize(ctx.stdout), (size) => resizeTty(ctx, { exec: execId }, size), (text) => ctx.err(text));
    }
    let outcome;
    try {
      outcome = await streamAttached({
        connection,
        tty,
        stdin: attach.stdin ? ctx.stdin : undefined,
        stdout: ctx.stdout,
        stderr: tty ? ctx.stdout : ctx.stderr,
        detachKeys: options.detachKeys,
        warn: (text) => ctx.err(text),
      });
    } finally {
      stopResize();
    }
    if (outcome === 'detached') throw new CliError('read escape sequence');
    const inspected = await ctx.api.json<{ ExitCode?: number | null }>({ method: 'GET', path: `/exec/${encodeURIComponent(execId)}/json` });
    const status = inspected.ExitCode ?? 0;
    if (status !== 0) throw new ExitStatus(status);
  },
};
