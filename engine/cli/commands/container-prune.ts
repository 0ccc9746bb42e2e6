/** `tsdocker container prune [-f] [--filter F]`: remove every stopped container, after docker's question. */
import { collectFilter, filtersJSON, type CommandSpec } from '../command-kit.js';
import { humanSize } from '../format/units.js';
import { confirm } from '../prompt.js';

export const containerPruneCommand: CommandSpec<{ force?: boolean; filter?: string[] }> = {
  usage: '[OPTIONS]',
  description: 'Remove all stopped containers',
  args: { exactly: 0 },
  options: (c) =>
    c.option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collectFilter).option('-f, --force', 'Do not prompt for confirmation'),
  async run(ctx, _args, options) {
    if (!options.force && !(await confirm(ctx, 'WARNING! This will remove all stopped containers.\nAre you sure you want to continue?'))) return;
    const report = await ctx.api.json<{ ContainersDeleted?: string[] | null; SpaceReclaimed?: number }>({ method: 'POST', path: '/containers/prune', query: { filters: filtersJSON(options.filter ?? []) } });
    const deleted = report.ContainersDeleted ?? [];
    let text = '';
    if (deleted.length > 0) text += `Deleted Containers:\n${deleted.map((id) => `${id}\n`).join('')}\n`;
    ctx.out(`${text}Total reclaimed space: ${humanSize(report.SpaceReclaimed ?? 0)}\n`);
  },
};
