/**
 * `tsdocker ps [-a] [-q] [-s] [-n N | -l] [--no-trunc] [--filter F] [--format F]` (also
 * `container ls|ps|list`): GET /containers/json, in docker's table (or its --format output).
 * A template that uses .Size asks the daemon for sizes, as docker does.
 */
import { collectFilter, filtersJSON, type CommandSpec } from '../command-kit.js';
import { flagValue, goInt } from '../container/flag-values.js';
import { containerColumns, containerRow, defaultContainerTable, truncateId, type ContainerSummary } from '../format/container-rows.js';
import { parseTemplate } from '../format/go-template.js';
import { formatRows } from '../format/row-format.js';
import { CliError } from '../cli-error.js';

interface PsOptions {
  all?: boolean;
  filter?: string[];
  format?: string;
  last?: number;
  latest?: boolean;
  trunc?: boolean;
  quiet?: boolean;
  size?: boolean;
}

export const psCommand: CommandSpec<PsOptions> = {
  usage: '[OPTIONS]',
  description: 'List containers',
  args: { exactly: 0 },
  options: (c) =>
    c
      .option('-a, --all', 'Show all containers (default shows just running)')
      .option('-f, --filter <filter>', 'Filter output based on conditions provided', collectFilter)
      .option('--format <string>', 'Format output using a custom template: table, table TEMPLATE, json or TEMPLATE')
      .option('-n, --last <int>', 'Show n last created containers (includes all states)', flagValue(goInt))
      .option('-l, --latest', 'Show the latest created container (includes all states)')
      .option('--no-trunc', "Don't truncate output")
      .option('-q, --quiet', 'Only display container IDs')
      .option('-s, --size', 'Display total file sizes'),
  async run(ctx, _args, options) {
    let format = options.format ?? '';
    if (format !== '' && options.quiet) {
      ctx.err('WARNING: Ignoring custom format, because both --format and --quiet are set.\n');
    }
    let size = Boolean(options.size);
    if (format !== '' && format !== 'table' && format !== 'json') {
      try {
        parseTemplate(format.replace(/^table\s*/, ''));
      } catch (err) {
        throw new CliError(`failed to parse template: ${(err as Error).message}`);
      }
    }
    // Sizes cost the daemon a walk of each container's layer: only when shown.
    if (!options.quiet && options.size === undefined && /\.Size\b/.test(format)) size = true;
    let limit = options.last ?? -1;
    if (options.latest && limit === -1) limit = 1;
    const containers = await ctx.api.json<ContainerSummary[]>({
      method: 'GET',
      path: '/containers/json',
      query: { all: options.all || undefined, limit: limit > 0 ? limit : undefined, size: size || undefined, filters: filtersJSON(options.filter ?? []) },
    });
    const trunc = options.trunc !== false;
    if (options.quiet) {
      ctx.out(containers.map((c) => `${trunc ? truncateId(c.Id) : c.Id}\n`).join(''));
      return;
    }
    if (format === '' || format === 'table') format = defaultContainerTable + (size ? '\t{{.Size}}' : '');
    const now = Date.now();
    ctx.out(formatRows(format, containers.map((c) => containerRow(c, trunc, now)), containerColumns));
  },
};
