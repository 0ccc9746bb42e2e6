/**
 * `tsdocker logs [-f] [-t] [--tail N] [--since T] [--until T] [--details] CONTAINER`: the
 * container's log as the daemon keeps it, split into stdout and stderr (copied as it is when the
 * container has a TTY).
 */
import type { CommandSpec } from '../command-kit.js';
import { containerPath, inspectContainer } from '../container/container-api.js';
import { apiTimestamp } from '../container/log-times.js';
import { demultiplex, writeAll } from '../container/stdcopy.js';

interface LogsOptions {
  follow?: boolean;
  since?: string;
  until?: string;
  timestamps?: boolean;
  details?: boolean;
  tail?: string;
}

export const logsCommand: CommandSpec<LogsOptions> = {
  usage: '[OPTIONS] CONTAINER',
  description: 'Fetch the logs of a container',
  args: { exactly: 1 },
  options: (c) =>
    c
      .option('--details', 'Show extra details provided to logs')
      .option('-f, --follow', 'Follow log output')
      .option('--since <string>', 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)')
      .option('-n, --tail <string>', 'Number of lines to show from the end of the logs', 'all')
      .option('-t, --timestamps', 'Show timestamps')
      .option('--until <string>', 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)'),
  async run(ctx, [name], options) {
    const container = await inspectContainer(ctx, name!);
    const response = await ctx.api.send({
      method: 'GET',
      path: containerPath(container.Id, '/logs'),
      query: {
        stdout: true,
        stderr: true,
        since: options.since ? apiTimestamp(options.since) : undefined,
        until: options.until ? apiTimestamp(options.until) : undefined,
        timestamps: options.timestamps || undefined,
        follow: options.follow || undefined,
        tail: options.tail,
        details: options.details || undefined,
      },
    });
    if (container.Config.Tty) {
      for await (const chunk of response as AsyncIterable<Buffer>) await writeAll(ctx.stdout, chunk);
    } else {
      await demultiplex(response, ctx.stdout, ctx.stderr);
    }
  },
};
