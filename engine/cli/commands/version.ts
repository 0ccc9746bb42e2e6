/**
 * `tsdocker version [-f FORMAT]`: the client's version and the daemon's (GET /version), laid out as
 * `docker version` lays them out. With an unreachable daemon the client part is still printed.
 */
import { CliError } from '../cli-error.js';
import type { CommandSpec } from '../command-kit.js';
import { apiVersion } from '../engine-api.js';
import { parseTemplate } from '../format/go-template.js';
import { clientArch, clientOs } from '../platform.js';

interface ServerComponent {
  Name: string;
  Version: string;
  Details?: Record<string, string> | null;
}

interface ServerVersion {
  Platform?: { Name?: string };
  Components?: ServerComponent[] | null;
  Version?: string;
  ApiVersion?: string;
  MinAPIVersion?: string;
  GitCommit?: string;
  GoVersion?: string;
  Os?: string;
  Arch?: string;
  BuildTime?: string;
  Experimental?: boolean;
}

/** docker aligns every value at column 20. */
const pad = (label: string, indent: string) => `${indent}${label}:`.padEnd(19) + ' ';

/** Go's time.ANSIC in local time (`Thu May  7 21:09:36 2026`), as docker shows build times. */
export function ansic(text: string): string {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) return text;
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number) => String(n).padStart(2, '0');
  return `${days[date.getDay()]} ${months[date.getMonth()]} ${String(date.getDate()).padStart(2, ' ')} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())} ${date.getFullYear()}`;
}

/** docker shows the engine's build time as ANSIC, in the template's data as well. */
function withReadableBuildTimes(server: ServerVersion): ServerVersion {
  const copy: ServerVersion = { ...server };
  if (copy.BuildTime) copy.BuildTime = ansic(copy.BuildTime);
  copy.Components = server.Components?.map((c) =>
    c.Name === 'Engine' && c.Details?.BuildTime ? { ...c, Details: { ...c.Details, BuildTime: ansic(c.Details.BuildTime) } } : c,
  );
  return copy;
}

function clientInfo(version: string) {
  return {
    Version: version,
    ApiVersion: apiVersion,
    DefaultAPIVersion: apiVersion,
    NodeVersion: process.version,
    Os: clientOs,
    Arch: clientArch,
    Context: 'default',
  };
}

function clientText(client: ReturnType<typeof clientInfo>): string {
  return [
    'Client:',
    `${pad('Version', ' ')}${client.Version}`,
    `${pad('API version', ' ')}${client.ApiVersion}`,
    `${pad('Node version', ' ')}${client.NodeVersion}`,
    `${pad('OS/Arch', ' ')}${client.Os}/${client.Arch}`,
    `${pad('Context', ' ')}${client.Context}`,
  ].join('\n');
}

function engineLines(version: string | undefined, d: Record<string, string>): string[] {
  const lines = [`${pad('Version', '  ')}${version ?? ''}`];
  lines.push(`${pad('API version', '  ')}${d.ApiVersion ?? ''}${d.MinAPIVersion ? ` (minimum version ${d.MinAPIVersion})` : ''}`);
  if (d.GoVersion) lines.push(`${pad('Go version', '  ')}${d.GoVersion}`);
  if (d.GitCommit) lines.push(`${pad('Git commit', '  ')}${d.GitCommit}`);
  if (d.BuildTime) lines.push(`${pad('Built', '  ')}${d.BuildTime}`);
  lines.push(`${pad('OS/Arch', '  ')}${d.Os ?? ''}/${d.Arch ?? ''}`);
  lines.push(`${pad('Experimental', '  ')}${d.Experimental ?? 'false'}`);
  return lines;
}

function serverText(server: ServerVersion): string {
  const lines = [`Server:${server.Platform?.Name ? ` ${server.Platform.Name}` : ''}`];
  const components = server.Components?.length
    ? server.Components
    : [
        {
          Name: 'Engine',
          Version: server.Version ?? '',
          Details: {
            ApiVersion: server.ApiVersion ?? '',
            MinAPIVersion: server.MinAPIVersion ?? '',
            GoVersion: server.GoVersion ?? '',
            GitCommit: server.GitCommit ?? '',
            BuildTime: server.BuildTime ?? '',
            Os: server.Os ?? '',
            Arch: server.Arch ?? '',
            Experimental: String(server.Experimental ?? false),
          },
        },
      ];
  for (const component of components) {
    lines.push(` ${component.Name}:`);
    const details = component.Details ?? {};
    if (component.Name === 'Engine') {
      lines.push(...engineLines(component.Version, details));
    } else {
      lines.push(`${pad('Version', '  ')}${component.Version}`);
      for (const key of Object.keys(details).sort()) lines.push(`${pad(key, '  ')}${details[key]}`);
    }
  }
  return lines.join('\n');
}

export const versionCommand: CommandSpec<{ format?: string }> = {
  usage: '[OPTIONS]',
  description: 'Show the tsdocker version information',
  args: { exactly: 0 },
  options: (c) => c.option('-f, --format <string>', 'Format output using a custom template'),
  async run(ctx, _args, options) {
    const client = clientInfo(ctx.version);
    const template = options.format ? parseTemplate(options.format) : undefined;
    let server: ServerVersion | undefined;
    let failure: unknown;
    try {
      server = withReadableBuildTimes(await ctx.api.json<ServerVersion>({ method: 'GET', path: '/version' }));
    } catch (err) {
      failure = err;
    }
    if (template) {
      try {
        ctx.out(`${template.execute({ Client: client, Server: server ?? null })}\n`);
      } catch (err) {
        if (failure === undefined) throw new CliError(`template: ${(err as Error).message}`);
      }
    } else {
      ctx.out(`${clientText(client)}\n`);
      if (server) ctx.out(`\n${serverText(server)}\n`);
    }
    if (failure !== undefined) throw failure;
  },
};
