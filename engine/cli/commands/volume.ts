/**
 * `tsdocker volume create|ls|rm|inspect|prune`: the /volumes endpoints with docker's flags and
 * output (volumes listed by name; prune with docker's question for API 1.41 daemons, where it
 * removes every unused local volume).
 */
import { keyValueMap } from '../container/flag-values.js';
import { CliError } from '../cli-error.js';
import { collect, collectFilter, filtersJSON, type CommandSpec } from '../command-kit.js';
import { formatRows, type Row } from '../format/row-format.js';
import { naturalLess } from '../format/natural-order.js';
import { humanSize } from '../format/units.js';
import { confirm } from '../prompt.js';
import { typedInspectCommand } from './inspect.js';


interface CreateOptions {
  driver: string;
  label?: string[];
  name?: string;
  opt?: string[];
}

export const volumeCreateCommand: CommandSpec<CreateOptions> = {
  usage: '[OPTIONS] [VOLUME]',
  description: 'Create a volume',
  args: { max: 1 },
  options: (c) =>
    c
      .option('-d, --driver <string>', 'Specify volume driver name', 'local')
      .option('--label <list>', 'Set metadata for a volume', collect)
      .option('--name <string>', 'Specify volume name')
      .option('-o, --opt <map>', 'Set driver specific options', collect),
  async run(ctx, [name], options) {
    if (name && options.name && name !== options.name) throw new CliError(`conflicting options: cannot specify a volume-name through both --name and as a positional arg`);
    const volume = await ctx.api.json<{ Name: string }>({
      method: 'POST',
      path: '/volumes/create',
      json: { Driver: options.driver, DriverOpts: keyValueMap(options.opt), Labels: keyValueMap(options.label), Name: name ?? options.name ?? '' },
    });
    ctx.out(`${volume.Name}\n`);
  },
};

interface VolumeSummary {
  Name: string;
  Driver: string;
  Mountpoint?: string;
  Scope?: string;
  Labels?: Record<string, string> | null;
  CreatedAt?: string;
  UsageData?: { Size?: number; RefCount?: number } | null;
}

const volumeColumns: Row = { Name: 'VOLUME NAME', Driver: 'DRIVER', Mountpoint: 'MOUNTPOINT', Scope: 'SCOPE', Labels: 'LABELS', Size: 'SIZE', Links: 'LINKS', CreatedAt: 'CREATED AT' };

function volumeRow(v: VolumeSummary): Row {
  return {
    Name: v.Name,
    Driver: v.Driver,
    Mountpoint: v.Mountpoint ?? '',
    Scope: v.Scope ?? '',
    Labels: Object.entries(v.Labels ?? {})
      .map(([k, l]) => `${k}=${l}`)
      .sort()
      .join(','),
    Size: v.UsageData?.Size !== undefined && v.UsageData.Size >= 0 ? humanSize(v.UsageData.Size) : 'N/A',
    Links: v.UsageData?.RefCount !== undefined && v.UsageData.RefCount >= 0 ? String(v.UsageData.RefCount) : 'N/A',
    CreatedAt: v.CreatedAt ?? '',
  };
}

export const volumeLsCommand: CommandSpec<{ filter?: string[]; format?: string; quiet?: boolean }> = {
  usage: '[OPTIONS]',
  description: 'List volumes',
  args: { exactly: 0 },
  options: (c) =>
    c
      .option('-f, --filter <filter>', "Provide filter values (e.g. 'dangling=true')", collectFilter)
      .option('--format <string>', 'Format output using a custom template: table, table TEMPLATE, json or TEMPLATE')
      .option('-q, --quiet', 'Only display volume names'),
  async run(ctx, _args, options) {
    const list = await ctx.api.json<{ Volumes?: VolumeSummary[] | null; Warnings?: string[] | null }>({ method: 'GET', path: '/volumes', query: { filters: filtersJSON(options.filter ?? []) } });
    const volumes = [...(list.Volumes ?? [])].sort((a, b) => naturalLess(a.Name, b.Name));
    if (options.quiet) {
      ctx.out(volumes.map((v) => `${v.Name}\n`).join(''));
      return;
    }
    const format = !options.format || options.format === 'table' ? 'table {{.Driver}}\t{{.Name}}' : options.format;
    ctx.out(formatRows(format, volumes.map(volumeRow), volumeColumns));
  },
};

export const volumeRmCommand: CommandSpec<{ force?: boolean }> = {
  usage: '[OPTIONS] VOLUME [VOLUME...]',
  description: 'Remove one or more volumes',
  args: { min: 1 },
  options: (c) => c.option('-f, --force', 'Force the removal of one or more volumes'),
  async run(ctx, names, options) {
    const errors: string[] = [];
    for (const name of names) {
      try {
        await ctx.api.call({ method: 'DELETE', path: `/volumes/${encodeURIComponent(name)}`, query: { force: options.force || undefined } });
        ctx.out(`${name}\n`);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (errors.length > 0) throw new CliError(errors.join('\n'));
  },
};

export const volumePruneCommand: CommandSpec<{ force?: boolean; all?: boolean; filter?: string[] }> = {
  usage: '[OPTIONS]',
  description: 'Remove unused local volumes',
  args: { exactly: 0 },
  options: (c) =>
    c
      .option('-a, --all', 'Remove all unused volumes, not just anonymous ones')
      .option('--filter <filter>', 'Provide filter values (e.g. "label=<label>")', collectFilter)
      .option('-f, --force', 'Do not prompt for confirmation'),
  async run(ctx, _args, options) {
    // API 1.41 daemons prune every unused volume and know no `all` filter.
    if (options.all) throw new CliError('"--all" requires API version 1.42, but the Docker daemon API version is 1.41');
    if (!options.force && !(await confirm(ctx, 'WARNING! This will remove all local volumes not used by at least one container.\nAre you sure you want to continue?'))) return;
    const report = await ctx.api.json<{ VolumesDeleted?: string[] | null; SpaceReclaimed?: number }>({ method: 'POST', path: '/volumes/prune', query: { filters: filtersJSON(options.filter ?? []) } });
    const deleted = report.VolumesDeleted ?? [];
    let text = '';
    if (deleted.length > 0) text += `Deleted Volumes:\n${deleted.map((v) => `${v}\n`).join('')}\n`;
    ctx.out(`${text}Total reclaimed space: ${humanSize(report.SpaceReclaimed ?? 0)}\n`);
  },
};

export const volumeInspectCommand = typedInspectCommand('volume', '[OPTIONS] VOLUME [VOLUME...]', 'Display detailed information on one or more volumes');
