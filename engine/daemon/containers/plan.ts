/**
 * `POST /containers/create` as dockerd reads it: the request merged with the image's config
 * (docker's rules for Cmd/Entrypoint, Env, Labels, ExposedPorts, Volumes, User, WorkingDir,
 * StopSignal), the host config checked with dockerd's messages, and the mounts resolved (binds,
 * named and anonymous volumes, tmpfs). The result is what the container record keeps and the
 * run options the runtime's buildSpec takes.
 */
import { posix } from 'node:path';
import { TsdError } from '../../../shared/errors.js';
import type { ImageConfig } from '../../../shared/manifest.js';
import { envKey, type RunOptions } from '../../runtime/index.js';
import { checkVolumeName } from '../volumes/store.js';
import type { NetworkChoice } from './record.js';
import type { ContainerConfig, CreateContainerBody, HostConfig, MountPoint, RestartPolicy } from './types.js';

const bad = (message: string): TsdError => new TsdError('INVALID_ARGUMENT', message);

export interface ContainerPlan {
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** The network to join first ('bridge', 'host', 'none' or a user network), then any others. */
  networks: Record<string, NetworkChoice>;
  path: string;
  args: string[];
  /** Mounts with volumes still by name (Source '' until the volume exists). */
  mounts: MountPoint[];
  /** Volumes to create: named ones that are missing, and the anonymous ones (random names). */
  volumes: Array<{ name?: string; destination: string }>;
  tmpfs: string[];
}

/** docker's merge of a create request with the image config. */
export function mergeConfig(user: ContainerConfig, image: ImageConfig['config'] | undefined): ContainerConfig {
  const img = (image ?? {}) as ContainerConfig;
  const out: ContainerConfig = { ...user };
  if (!out.User) out.User = img.User ?? '';
  if (!out.WorkingDir) out.WorkingDir = img.WorkingDir ?? '';
  if (!out.StopSignal && img.StopSignal) out.StopSignal = img.StopSignal;
  // dockerd's order: the request's variables as given, then the image's that it does not set.
  const userKeys = new Set((user.Env ?? []).map(envKey));
  out.Env = [...(user.Env ?? []), ...(img.Env ?? []).filter((e) => !userKeys.has(envKey(e)))];
  const labels = { ...(img.Labels ?? {}), ...(user.Labels ?? {}) };
  out.Labels = labels;
  const exposed = { ...(img.ExposedPorts ?? {}), ...(user.ExposedPorts ?? {}) };
  out.ExposedPorts = Object.keys(exposed).length > 0 ? exposed : null;
  const volumes = { ...(img.Volumes ?? {}), ...(user.Volumes ?? {}) };
  out.Volumes = Object.keys(volumes).length > 0 ? volumes : null;
  const userEntrypoint = user.Entrypoint ?? null;
  if (userEntrypoint === null || userEntrypoint.length === 0) {
    if (!user.Cmd || user.Cmd.length === 0) out.Cmd = img.Cmd ?? null;
    if (userEntrypoint === null) out.Entrypoint = img.Entrypoint ?? null;
  }
  // `--entrypoint ""` arrives as [""]: no entrypoint at all.
  if (out.Entrypoint && out.Entrypoint.length === 1 && out.Entrypoint[0] === '') out.Entrypoint = null;
  return out;
}

export function checkRestartPolicy(host: HostConfig): RestartPolicy {
  const p = host.RestartPolicy ?? {};
  const name = p.Name ?? '';
  const max = p.MaximumRetryCount ?? 0;
  if (!['', 'no', 'always', 'unless-stopped', 'on-failure'].includes(name)) throw bad(`invalid restart policy '${name}'`);
  if (max < 0) throw bad('invalid restart policy: maximum retry count cannot be negative');
  if (max > 0 && name !== 'on-failure') throw bad(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  if (host.AutoRemove && name !== '' && name !== 'no') throw bad(`can't create 'AutoRemove' container with restart policy`);
  return { Name: name, MaximumRetryCount: max };
}

const modeOptions = new Set(['ro', 'rw', 'z', 'Z', 'nocopy', 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave']);

/** One `-v` value: `/host:/ctr[:opts]`, `name:/ctr[:opts]` or `/ctr` (an anonymous volume). */
export function parseBind(spec: string): MountPoint {
  const parts = spec.split(':');
  if (parts.length > 3 || parts.some((p) => p === '')) throw bad(`invalid volume specification: '${spec}'`);
  let source = '';
  let destination: string;
  let mode = '';
  if (parts.length === 1) destination = parts[0]!;
  else if (parts.length === 2 && parts[1]!.split(',').every((o) => modeOptions.has(o)) && posix.isAbsolute(parts[0]!)) {
    destination = parts[0]!;
    mode = parts[1]!;
  } else {
    [source, destination] = [parts[0]!, parts[1]!];
    mode = parts[2] ?? '';
  }
  if (!posix.isAbsolute(destination)) throw bad(`invalid volume specification: '${spec}': invalid mount config for type "${source.startsWith('/') ? 'bind' : 'volume'}": invalid mount path: '${destination}' mount path must be absolute`);
  if (posix.normalize(destination) === '/') throw bad(`invalid volume specification: '${spec}': invalid mount config: destination can't be '/'`);
  const opts = mode === '' ? [] : mode.split(',');
  for (const o of opts) if (!modeOptions.has(o)) throw bad(`invalid mode: ${mode}`);
  const rw = !opts.includes('ro');
  const propagation = opts.find((o) => o.includes('private') || o.includes('shared') || o.includes('slave'));
  if (source.startsWith('/')) {
    return { Type: 'bind', Source: posix.normalize(source), Destination: posix.normalize(destination), Mode: mode, RW: rw, Propagation: propagation ?? 'rprivate' };
  }
  if (source !== '') checkVolumeName(source);
  const mp: MountPoint = { Type: 'volume', Source: '', Destination: posix.normalize(destination), Driver: 'local', Mode: mode === '' ? 'z' : mode, RW: rw, Propagation: '' };
  if (source !== '') mp.Name = source;
  return mp;
}

function mountsOf(host: HostConfig, config: ContainerConfig): { mounts: MountPoint[]; tmpfs: string[] } {
  const mounts = (host.Binds ?? []).map(parseBind);
  const tmpfs: string[] = [];
  for (const m of host.Mounts ?? []) {
    const target = m.Target ?? '';
    if (!posix.isAbsolute(target)) throw bad(`invalid mount config for type "${m.Type}": invalid mount path: '${target}' mount path must be absolute`);
    if (m.Type === 'bind') {
      if (!m.Source || !posix.isAbsolute(m.Source)) throw bad(`invalid mount config for type "bind": invalid mount path: '${m.Source ?? ''}' mount path must be absolute`);
      const propagation = m.BindOptions?.Propagation || 'rprivate';
      mounts.push({ Type: 'bind', Source: posix.normalize(m.Source), Destination: posix.normalize(target), Mode: '', RW: !m.ReadOnly, Propagation: propagation });
    } else if (m.Type === 'volume') {
      if (m.Source) checkVolumeName(m.Source);
      const mp: MountPoint = { Type: 'volume', Source: '', Destination: posix.normalize(target), Driver: 'local', Mode: 'z', RW: !m.ReadOnly, Propagation: '' };
      if (m.Source) mp.Name = m.Source;
      mounts.push(mp);
    } else if (m.Type === 'tmpfs') {
      if (m.Source) throw bad('invalid mount config for type "tmpfs": source must not be specified');
      const opts: string[] = [];
      if (m.TmpfsOptions?.SizeBytes) opts.push(`size=${m.TmpfsOptions.SizeBytes}`);
      if (m.TmpfsOptions?.Mode) opts.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
      if (m.ReadOnly) opts.push('ro');
      tmpfs.push(opts.length > 0 ? `${target}:${opts.join(',')}` : target);
    } else throw bad(`mount type unknown: ${m.Type ?? ''}`);
  }
  for (const [path, opts] of Object.entries(host.Tmpfs ?? {})) tmpfs.push(opts ? `${path}:${opts}` : path);
  // The image's VOLUMEs not covered by anything else become anonymous volumes.
  const taken = new Set([...mounts.map((m) => m.Destination), ...tmpfs.map((t) => posix.normalize(t.split(':')[0]!))]);
  for (const dest of Object.keys(config.Volumes ?? {})) {
    const d = posix.normalize(dest);
    if (!taken.has(d)) mounts.push({ Type: 'volume', Source: '', Destination: d, Driver: 'local', Mode: '', RW: true, Propagation: '' });
  }
  const all = [...mounts.map((m) => m.Destination), ...tmpfs.map((t) => posix.normalize(t.split(':')[0]!))];
  const dup = all.find((d, i) => all.indexOf(d) !== i);
  if (dup) throw bad(`Duplicate mount point: ${dup}`);
  return { mounts, tmpfs };
}

function networksOf(host: HostConfig, body: CreateContainerBody): Record<string, NetworkChoice> {
  let mode = host.NetworkMode ?? '';
  if (mode === '' || mode === 'default') mode = 'bridge';
  if (mode.startsWith('container:')) throw new TsdError('UNSUPPORTED', 'network mode container:<name> is not supported', { status: 501 });
  // The CLI names the default network "default" in its endpoint settings too.
  const endpoints = Object.fromEntries(Object.entries(body.NetworkingConfig?.EndpointsConfig ?? {}).map(([k, v]) => [k === 'default' ? 'bridge' : k, v]));
  const choice = (name: string): NetworkChoice => {
    const e = endpoints[name] ?? {};
    const c: NetworkChoice = { aliases: [...(e?.Aliases ?? [])] };
    if (e?.IPAMConfig?.IPv4Address) c.ipv4Address = e.IPAMConfig.IPv4Address;
    return c;
  };
  const out: Record<string, NetworkChoice> = { [mode]: choice(mode) };
  for (const name of Object.keys(endpoints)) if (!(name in out)) out[name] = choice(name);
  if ((mode === 'host' || mode === 'none') && Object.keys(out).length > 1) {
    throw new TsdError('INVALID_ARGUMENT', `conflicting options: cannot attach both user-defined and non-user-defined network-modes`);
  }
  return out;
}

/** Check and merge a create request against the image config. */
export function planContainer(body: CreateContainerBody, image: ImageConfig['config'] | undefined): ContainerPlan {
  const { HostConfig: hostIn, NetworkingConfig: _net, ...userConfig } = body;
  const hostConfig: HostConfig = { ...(hostIn ?? {}) };
  const config = mergeConfig(userConfig, image);
  const entrypoint = config.Entrypoint ?? [];
  const command = [...entrypoint, ...(config.Cmd ?? [])];
  if (command.length === 0) throw bad('No command specified');
  hostConfig.RestartPolicy = checkRestartPolicy(hostConfig);
  const logType = hostConfig.LogConfig?.Type ?? '';
  if (logType !== '' && logType !== 'json-file') throw bad(`logger: no log driver named '${logType}' is registered`);
  hostConfig.LogConfig = { Type: 'json-file', Config: hostConfig.LogConfig?.Config ?? {} };
  // Kept as asked, as dockerd 20.10 keeps it: 'default' means the default bridge (networksOf).
  if (!hostConfig.NetworkMode) hostConfig.NetworkMode = 'default';
  if (hostConfig.VolumesFrom && hostConfig.VolumesFrom.length > 0) throw new TsdError('UNSUPPORTED', '--volumes-from is not supported', { status: 501 });
  const { mounts, tmpfs } = mountsOf(hostConfig, config);
  const volumes = mounts.filter((m) => m.Type === 'volume').map((m) => (m.Name ? { name: m.Name, destination: m.Destination } : { destination: m.Destination }));
  return { config, hostConfig, networks: networksOf(hostConfig, body), path: command[0]!, args: command.slice(1), mounts, volumes, tmpfs };
}

/** The runtime's run options for a planned container (network and id are the caller's). */
export function runOptionsOf(record: { config: ContainerConfig; hostConfig: HostConfig; mounts: MountPoint[] }, tmpfs: string[]): RunOptions {
  const { config, hostConfig: host } = record;
  const run: RunOptions = {
    env: config.Env ?? [],
    user: config.User ?? '',
    entrypoint: config.Entrypoint ?? [],
    cmd: config.Cmd ?? [],
    tty: config.Tty ?? false,
    interactive: config.OpenStdin ?? false,
    stdinOnce: config.StdinOnce ?? false,
    readOnly: host.ReadonlyRootfs ?? false,
    volumes: record.mounts.map((m) => `${m.Source}:${m.Destination}:${[m.RW ? 'rw' : 'ro', ...(m.Type === 'bind' && m.Propagation ? [m.Propagation] : [])].join(',')}`),
    tmpfs,
    extraHosts: host.ExtraHosts ?? [],
    dns: host.Dns ?? [],
    capAdd: host.Privileged ? ['ALL'] : (host.CapAdd ?? []),
    capDrop: host.CapDrop ?? [],
    groupAdd: host.GroupAdd ?? [],
    // docker's default; only `--security-opt no-new-privileges` sets it.
    noNewPrivileges: (host.SecurityOpt ?? []).some((o) => /^no-new-privileges(?:[:=]true)?$/.test(o)),
  };
  if (config.WorkingDir) run.workdir = config.WorkingDir;
  if (config.Hostname) run.hostname = config.Hostname;
  if (config.StopSignal) run.stopSignal = config.StopSignal;
  if (typeof config.StopTimeout === 'number') run.stopTimeout = config.StopTimeout;
  if (host.Memory) run.memory = host.Memory;
  if (host.MemorySwap) run.memorySwap = host.MemorySwap;
  if (host.NanoCpus) run.cpus = host.NanoCpus / 1e9;
  else if (host.CpuQuota && host.CpuQuota > 0) run.cpus = host.CpuQuota / (host.CpuPeriod || 100_000);
  if (host.CpuShares) run.cpuShares = host.CpuShares;
  if (typeof host.PidsLimit === 'number' && host.PidsLimit > 0) run.pidsLimit = host.PidsLimit;
  if (host.ConsoleSize && host.ConsoleSize[0] > 0 && host.ConsoleSize[1] > 0) run.consoleSize = { rows: host.ConsoleSize[0], cols: host.ConsoleSize[1] };
  const logOpts = host.LogConfig?.Config ?? {};
  if (logOpts['max-size'] !== undefined || logOpts['max-file'] !== undefined) {
    run.logOpts = {};
    if (logOpts['max-size'] !== undefined) run.logOpts['max-size'] = logOpts['max-size'];
    if (logOpts['max-file'] !== undefined) run.logOpts['max-file'] = logOpts['max-file'];
  }
  return run;
}
