/** `tsdocker top CONTAINER [ps OPTIONS]`: the daemon's process table, in docker's columns of at least 20. */
import type { CommandSpec } from '../command-kit.js';
import { containerPath } from '../container/container-api.js';
import { renderTable } from '../format/table.js';

interface TopResponse {
  Titles: string[];
  Processes: string[][] | null;
}

export const topCommand: CommandSpec = {
  usage: 'CONTAINER [ps OPTIONS]',
  description: 'Display the running processes of a container',
  args: { min: 1 },
  options: (c) => c.passThroughOptions(),
  async run(ctx, [name, ...psArgs]) {
    const top = await ctx.api.json<TopResponse>({ method: 'GET', path: containerPath(name!, '/top'), query: { ps_args: psArgs.length > 0 ? psArgs.join(' ') : undefined } });
    ctx.out(renderTable([top.Titles, ...(top.Processes ?? [])], { minWidth: 20 }));
  },
};
