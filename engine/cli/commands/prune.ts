/** `tsdocker image prune [-a] [-f] [--filter F]`: POST /images/prune after docker's confirmation. */
import type { CommandSpec } from '../command-kit.js';
import { collectFilter, filtersJSON } from '../command-kit.js';
import { humanSize } from '../format/units.js';
import { confirm } from '../prompt.js';

interface PruneOptions {
  all?: boolean;
  force?: boolean;
  filter?: string[];
}

interface PruneReport {
  ImagesDeleted?: Array<{ Untagged?: string; Deleted?: string }> | null;
  SpaceReclaimed?: number;
}

const warnings = {
  dangling: 'WARNING! This will remove all dangling images.\nAre you sure you want to continue?',
  all: 'WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?',
};

export const pruneCommand: CommandSpec<PruneOptions> = {
  usage: '[OPTIONS]',
  description: 'Remove unused images',
  args: { exactly: 0 },
  options: (c) =>
    c
      .option('-a, --all', 'Remove all unused images, not just dangling ones')
      .option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collectFilter)
      .option('-f, --force', 'Do not prompt for confirmation'),
  async run(ctx, _args, options) {
    if (!options.force && !(await confirm(ctx, options.all ? warnings.all : warnings.dangling))) return;
    const filters = [...(options.filter ?? []), `dangling=${options.all ? 'false' : 'true'}`];
    const report = await ctx.api.json<PruneReport>({ method: 'POST', path: '/images/prune', query: { filters: filtersJSON(filters) } });
    const deleted = report.ImagesDeleted ?? [];
    if (deleted.length > 0) {
      let text = 'Deleted Images:\n';
      for (const item of deleted) {
        if (item.Untagged) text += `untagged: ${item.Untagged}\n`;
        if (item.Deleted) text += `deleted: ${item.Deleted}\n`;
      }
      ctx.out(`${text}\n`);
    }
    ctx.out(`Total reclaimed space: ${humanSize(report.SpaceReclaimed ?? 0)}\n`);
  },
};
