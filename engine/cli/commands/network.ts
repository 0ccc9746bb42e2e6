/**
 * `tsdocker network create|ls|rm|inspect|connect|disconnect|prune`: the /networks endpoints with
 * docker's flags and output (IDs of 12 digits, networks listed by name, `exit status 1` after a
 * failed rm, as docker prints it).
 */
import { keyValueMap } from '../container/flag-values.js';
import { CliError, isDaemonNotFound } from '../cli-error.js';
import { collect, collectFilter, filtersJSON, type CommandSpec } from '../command-kit.js';
import { formatRows, type Row } from '../format/row-format.js';
import { naturalLess } from '../format/natural-order.js';
import { goTimeString } from '../format/units.js';
import { confirm } from '../prompt.js';
import { typedInspectCommand } from './inspect.js';

const networkPath = (name: string, rest = '') => `/networks/${encodeURIComponent(name)}${rest}`;


interface CreateOptions {
  driver: string;
  subnet?: string[];
  gateway?: string[];
  ipRange?: string[];
  internal?: boolean;
  attachable?: boolean;
  ipv6?: boolean;
  opt?: string[];
  label?: string[];
  ipamDriver?: string;
  scope?: string;
}

/** Subnets with their gateway and range (docker pairs them by containment; here by position). */
function ipamConfig(options: CreateOptions): Array<Record<string, unknown>> {
  const subnets = options.subnet ?? [];
  const gateways = options.gateway ?? [];
  const ranges = options.ipRange ?? [];
  if (gateways.length > subnets.length || ranges.length > subnets.length) throw new CliError('every ip-range or gateway must have a corresponding subnet');
  return subnets.map((subnet, i) => ({
    Subnet: subnet,
    ...(ranges[i] ? { IPRange: ranges[i] } : {}),
    ...(gateways[i] ? { Gateway: gateways[i] } : {}),
  }));
}

export const networkCreateCommand: CommandSpec<CreateOptions> = {
  usage: '[OPTIONS] NETWORK',
  description: 'Create a network',
  args: { exactly: 1 },
  options: (c) =>
    c
      .option('--attachable', 'Enable manual container attachment')
      .option('-d, --driver <string>', 'Driver to manage the Network', 'bridge')
      .option('--gateway <strings>', 'IPv4 or IPv6 Gateway for the master subnet', collect)
      .option('--internal', 'Restrict external access to the network')
      .option('--ip-range <strings>', 'Allocate container ip from a sub-range', collect)
      .option('--ipam-driver <string>', 'IP Address Management Driver', 'default')
      .option('--ipv6', 'Enable or disable IPv6 networking')
      .option('--label <list>', 'Set metadata on a network', collect)
      .option('-o, --opt <map>', 'Set driver specific options', collect)
      .option('--scope <string>', "Control the network's scope")
      .option('--subnet <strings>', 'Subnet in CIDR format that represents a network segment', collect),
  async run(ctx, [name], options) {
    const created = await ctx.api.json<{ Id: string; Warning?: string }>({
      method: 'POST',
      path: '/networks/create',
      json: {
        Name: name,
        CheckDuplicate: true,
        Driver: options.driver,
        Scope: options.scope ?? '',
        EnableIPv6: Boolean(options.ipv6),
        IPAM: { Driver: options.ipamDriver ?? 'default', Config: ipamConfig(options), Options: {} },
        Internal: Boolean(options.internal),
        Attachable: Boolean(options.attachable),
        Ingress: false,
        ConfigOnly: false,
        ConfigFrom: null,
        Options: keyValueMap(options.opt),
        Labels: keyValueMap(options.label),
      },
    });
    ctx.out(`${created.Id}\n`);
  },
};

interface NetworkSummary {
  Name: string;
  Id: string;
  Created?: string;
  Scope?: string;
  Driver?: string;
  EnableIPv6?: boolean;
  Internal?: boolean;
  Labels?: Record<string, string> | null;
}

const networkColumns: Row = { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', IPv6: 'IPV6', Internal: 'INTERNAL', Labels: 'LABELS', CreatedAt: 'CREATED AT' };

function networkRow(n: NetworkSummary, trunc: boolean): Row {
  const created = n.Created ? Date.parse(n.Created) / 1000 : 0;
  return {
    ID: trunc ? n.Id.slice(0, 12) : n.Id,
    Name: n.Name,
    Driver: n.Driver ?? '',
    Scope: n.Scope ?? '',
    IPv6: String(Boolean(n.EnableIPv6)),
    Internal: String(Boolean(n.Internal)),
    Labels: Object.entries(n.Labels ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join(','),
    CreatedAt: goTimeString(Math.trunc(created)),
  };
}

interface LsOptions {
  filter?: string[];
  format?: string;
  trunc?: boolean;
  quiet?: boolean;
}

export const networkLsCommand: CommandSpec<LsOptions> = {
  usage: '[OPTIONS]',
  description: 'List networks',
  args: { exactly: 0 },
  options: (c) =>
    c
      .option('-f, --filter <filter>', 'Provide filter values (e.g. "driver=bridge")', collectFilter)
      .option('--format <string>', 'Format output using a custom template: table, table TEMPLATE, json or TEMPLATE')
      .option('--no-trunc', 'Do not truncate the output')
      .option('-q, --quiet', 'Only display network IDs'),
  async run(ctx, _args, options) {
    const networks = await ctx.api.json<NetworkSummary[]>({ method: 'GET', path: '/networks', query: { filters: filtersJSON(options.filter ?? []) } });
    networks.sort((a, b) => naturalLess(a.Name, b.Name));
    const trunc = options.trunc !== false;
    if (options.quiet) {
      ctx.out(networks.map((n) => `${trunc ? n.Id.slice(0, 12) : n.Id}\n`).join(''));
      return;
    }
    const format = !options.format || options.format === 'table' ? 'table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}' : options.format;
    ctx.out(formatRows(format, networks.map((n) => networkRow(n, trunc)), networkColumns));
  },
};

export const networkRmCommand: CommandSpec<{ force?: boolean }> = {
  usage: '[OPTIONS] NETWORK [NETWORK...]',
  description: 'Remove one or more networks',
  args: { min: 1 },
  options: (c) => c.option('-f, --force', 'Do not error if the network does not exist'),
  async run(ctx, names, options) {
    let failed = false;
    for (const name of names) {
      try {
        await ctx.api.call({ method: 'DELETE', path: networkPath(name) });
        ctx.out(`${name}\n`);
      } catch (err) {
        if (options.force && isDaemonNotFound(err)) continue;
        ctx.err(`${(err as Error).message}\n`);
        failed = true;
      }
    }
    if (failed) throw new CliError('exit status 1');
  },
};

interface ConnectOptions {
  alias?: string[];
  ip?: string;
  ip6?: string;
  link?: string[];
}

export const networkConnectCommand: CommandSpec<ConnectOptions> = {
  usage: '[OPTIONS] NETWORK CONTAINER',
  description: 'Connect a container to a network',
  args: { exactly: 2 },
  options: (c) =>
    c
      .option('--alias <strings>', 'Add network-scoped alias for the container', collect)
      .option('--ip <string>', 'IPv4 address (e.g., "172.30.100.104")')
      .option('--ip6 <string>', 'IPv6 address (e.g., "2001:db8::33")')
      .option('--link <list>', 'Add link to another container', collect),
  async run(ctx, [network, container], options) {
    const ipam = options.ip || options.ip6 ? { IPv4Address: options.ip ?? '', IPv6Address: options.ip6 ?? '' } : null;
    await ctx.api.call({
      method: 'POST',
      path: networkPath(network!, '/connect'),
      json: { Container: container, EndpointConfig: { IPAMConfig: ipam, Links: options.link ?? null, Aliases: options.alias ?? null } },
    });
  },
};

export const networkDisconnectCommand: CommandSpec<{ force?: boolean }> = {
  usage: '[OPTIONS] NETWORK CONTAINER',
  description: 'Disconnect a container from a network',
  args: { exactly: 2 },
  options: (c) => c.option('-f, --force', 'Force the container to disconnect from a network'),
  async run(ctx, [network, container], options) {
    await ctx.api.call({ method: 'POST', path: networkPath(network!, '/disconnect'), json: { Container: container, Force: Boolean(options.force) } });
  },
};

export const networkPruneCommand: CommandSpec<{ force?: boolean; filter?: string[] }> = {
  usage: '[OPTIONS]',
  description: 'Remove all unused networks',
  args: { exactly: 0 },
  options: (c) =>
    c.option('--filter <filter>', 'Provide filter values (e.g. "until=<timestamp>")', collectFilter).option('-f, --force', 'Do not prompt for confirmation'),
  async run(ctx, _args, options) {
    if (!options.force && !(await confirm(ctx, 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue?'))) return;
    const report = await ctx.api.json<{ NetworksDeleted?: string[] | null }>({ method: 'POST', path: '/networks/prune', query: { filters: filtersJSON(options.filter ?? []) } });
    const deleted = report.NetworksDeleted ?? [];
    if (deleted.length > 0) ctx.out(`Deleted Networks:\n${deleted.map((n) => `${n}\n`).join('')}\n`);
  },
};

export const networkInspectCommand = typedInspectCommand('network', '[OPTIONS] NETWORK [NETWORK...]', 'Display detailed information on one or more networks');
