/**
 * `tsdocker info [-f FORMAT]`: the daemon's GET /info laid out as `docker info` lays it out
 * (the fields a daemon reports; absent ones are left out).
 */
import { CliError } from '../cli-error.js';
import type { CommandSpec } from '../command-kit.js';
import { parseTemplate } from '../format/go-template.js';
import { bytesSize } from '../format/units.js';

type Info = Record<string, unknown> & {
  DriverStatus?: Array<[string, string]> | null;
  Plugins?: { Volume?: string[] | null; Network?: string[] | null; Authorization?: string[] | null; Log?: string[] | null } | null;
  Swarm?: { LocalNodeState?: string } | null;
  Runtimes?: Record<string, unknown> | null;
  ContainerdCommit?: { ID?: string; Expected?: string } | null;
  RuncCommit?: { ID?: string; Expected?: string } | null;
  InitCommit?: { ID?: string; Expected?: string } | null;
  SecurityOptions?: string[] | null;
  Labels?: string[] | null;
  RegistryConfig?: {
    InsecureRegistryCIDRs?: Array<string | { IP: string; Mask: string }> | null;
    IndexConfigs?: Record<string, { Name: string; Secure: boolean }> | null;
    Mirrors?: string[] | null;
  } | null;
};

/** The prefix length of a net.IPMask sent as base64 bytes (dockerd sends CIDR strings). */
function maskBits(mask: string): number {
  let bits = 0;
  for (const byte of Buffer.from(mask, 'base64')) bits += byte.toString(2).replace(/0/g, '').length;
  return bits;
}

const title = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export function infoText(info: Info, client: { version: string }): string {
  const lines: string[] = ['Client:', ` Version:    ${client.version}`, ' Context:    default', ' Debug Mode: false', '', 'Server:'];
  const line = (label: string, value: unknown) => lines.push(`${label} ${value === undefined || value === null ? '' : String(value)}`);
  const nonEmpty = (label: string, value: unknown) => {
    if (value !== undefined && value !== null && value !== '') line(label, value);
  };
  line(' Containers:', info.Containers ?? 0);
  line('  Running:', info.ContainersRunning ?? 0);
  line('  Paused:', info.ContainersPaused ?? 0);
  line('  Stopped:', info.ContainersStopped ?? 0);
  line(' Images:', info.Images ?? 0);
  nonEmpty(' Server Version:', info.ServerVersion);
  nonEmpty(' Storage Driver:', info.Driver);
  for (const [key, value] of info.DriverStatus ?? []) lines.push(`  ${key}: ${value}`);
  nonEmpty(' Logging Driver:', info.LoggingDriver);
  nonEmpty(' Cgroup Driver:', info.CgroupDriver);
  nonEmpty(' Cgroup Version:', info.CgroupVersion);
  if (info.Plugins) {
    lines.push(' Plugins:');
    line('  Volume:', (info.Plugins.Volume ?? []).join(' '));
    line('  Network:', (info.Plugins.Network ?? []).join(' '));
    if (info.Plugins.Authorization?.length) line('  Authorization:', info.Plugins.Authorization.join(' '));
    line('  Log:', (info.Plugins.Log ?? []).join(' '));
  }
  if (info.Swarm?.LocalNodeState) line(' Swarm:', info.Swarm.LocalNodeState);
  const runtimes = Object.keys(info.Runtimes ?? {}).sort();
  if (runtimes.length > 0) line(' Runtimes:', runtimes.join(' '));
  nonEmpty(' Default Runtime:', info.DefaultRuntime);
  if (info.OSType === 'linux') {
    line(' Init Binary:', info.InitBinary ?? '');
    for (const [name, commit] of [['containerd', info.ContainerdCommit], ['runc', info.RuncCommit], ['init', info.InitCommit]] as const) {
      if (!commit) continue;
      const expected = commit.Expected && commit.Expected !== commit.ID ? ` (expected: ${commit.Expected})` : '';
      lines.push(` ${name} version: ${commit.ID ?? ''}${expected}`);
    }
    if (info.SecurityOptions?.length) {
      lines.push(' Security Options:');
      for (const option of info.SecurityOptions) {
        const pairs = option.split(',').map((kv) => kv.split('=', 2) as [string, string | undefined]);
        const name = pairs.find(([k]) => k === 'name')?.[1] ?? option;
        lines.push(`  ${name}`);
        for (const [k, v] of pairs) if (k !== 'name') lines.push(`   ${title(k)}: ${v ?? ''}`);
      }
    }
  }
  nonEmpty(' Kernel Version:', info.KernelVersion);
  nonEmpty(' Operating System:', info.OperatingSystem);
  nonEmpty(' OSType:', info.OSType);
  nonEmpty(' Architecture:', info.Architecture);
  line(' CPUs:', info.NCPU ?? 0);
  line(' Total Memory:', bytesSize(Number(info.MemTotal ?? 0)));
  nonEmpty(' Name:', info.Name);
  nonEmpty(' ID:', info.ID);
  line(' Docker Root Dir:', info.DockerRootDir ?? '');
  line(' Debug Mode:', info.Debug ?? false);
  nonEmpty(' HTTP Proxy:', info.HttpProxy);
  nonEmpty(' HTTPS Proxy:', info.HttpsProxy);
  nonEmpty(' No Proxy:', info.NoProxy);
  if (info.Labels?.length) {
    lines.push(' Labels:');
    for (const label of info.Labels) lines.push(`  ${label}`);
  }
  line(' Experimental:', info.ExperimentalBuild ?? false);
  const registry = info.RegistryConfig;
  const insecureIndexes = Object.values(registry?.IndexConfigs ?? {}).filter((c) => !c.Secure);
  if (registry && (registry.InsecureRegistryCIDRs?.length || insecureIndexes.length)) {
    lines.push(' Insecure Registries:');
    for (const index of insecureIndexes) lines.push(`  ${index.Name}`);
    for (const cidr of registry.InsecureRegistryCIDRs ?? []) lines.push(`  ${typeof cidr === 'string' ? cidr : `${cidr.IP}/${maskBits(cidr.Mask)}`}`);
  }
  if (registry?.Mirrors?.length) {
    lines.push(' Registry Mirrors:');
    for (const mirror of registry.Mirrors) lines.push(`  ${mirror}`);
  }
  line(' Live Restore Enabled:', info.LiveRestoreEnabled ?? false);
  return `${lines.join('\n')}\n\n`;
}

export const infoCommand: CommandSpec<{ format?: string }> = {
  usage: '[OPTIONS]',
  description: 'Display system-wide information',
  args: { exactly: 0 },
  options: (c) => c.option('-f, --format <string>', 'Format output using a custom template'),
  async run(ctx, _args, options) {
    const template = options.format ? parseTemplate(options.format) : undefined;
    const info = await ctx.api.json<Info>({ method: 'GET', path: '/info' });
    if (!template) {
      ctx.out(infoText(info, { version: ctx.version }));
      return;
    }
    try {
      ctx.out(`${template.execute({ ...info, ClientInfo: { Version: ctx.version, Context: 'default', Debug: false } })}\n`);
    } catch (err) {
      throw new CliError((err as Error).message);
    }
  },
};
