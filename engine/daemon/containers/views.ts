/**
 * Container documents in dockerd's shapes: `GET /containers/{id}/json` (inspect) and the rows of
 * `GET /containers/json` (ps), with docker's status words ("Up 2 seconds", "Exited (0) 3 seconds
 * ago") and port lists.
 */
import type { EndpointSettings, PortMap } from '../../network/index.js';
import type { InspectedState } from '../../runtime/index.js';
import type { ContainerRecord } from './record.js';

/** What the manager knows beyond the record and the runtime state. */
export interface LiveInfo {
  state: InspectedState;
  restarting: boolean;
  removing: boolean;
  networks: Record<string, EndpointSettings>;
  ports: PortMap;
  execIds: string[];
  stateDir: string;
  logPath: string;
  driver: string;
  sandboxKey: string;
}

const zeroTime = '0001-01-01T00:00:00Z';

/** go-units' HumanDuration. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.floor(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

export type DockerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export function statusOf(live: Pick<LiveInfo, 'state' | 'restarting' | 'removing'>): DockerStatus {
  if (live.removing) return 'removing';
  if (live.state.status === 'running') return 'running';
  if (live.restarting) return 'restarting';
  // Never started (a start that failed included): docker says "created", with the exit code.
  if (!live.state.startedAt || live.state.status === 'created') return 'created';
  return 'exited';
}

/** The `Status` column of `docker ps`. */
export function statusText(live: Pick<LiveInfo, 'state' | 'restarting' | 'removing'>, now = Date.now()): string {
  const s = live.state;
  const since = (iso: string | undefined) => humanDuration(Math.max(0, now - Date.parse(iso ?? '')));
  switch (statusOf(live)) {
    case 'removing':
      return 'Removal In Progress';
    case 'running':
      return `Up ${since(s.startedAt)}`;
    case 'restarting':
      return `Restarting (${s.exitCode ?? 0}) ${since(s.finishedAt)} ago`;
    case 'created':
      return 'Created';
    default:
      return s.finishedAt ? `Exited (${s.exitCode ?? 0}) ${since(s.finishedAt)} ago` : '';
  }
}

function portList(record: ContainerRecord, ports: PortMap, running: boolean): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  const seen = new Set<string>();
  if (running) {
    for (const [key, bindings] of Object.entries(ports)) {
      const [port, type = 'tcp'] = key.split('/');
      for (const b of bindings ?? []) {
        out.push({ IP: b.HostIp ?? '', PrivatePort: Number(port), PublicPort: Number(b.HostPort), Type: type });
        seen.add(key);
      }
    }
  }
  for (const key of Object.keys(record.config.ExposedPorts ?? {})) {
    if (seen.has(key)) continue;
    const [port, type = 'tcp'] = key.split('/');
    out.push({ PrivatePort: Number(port), Type: type });
  }
  return out;
}

function portMap(record: ContainerRecord, ports: PortMap, running: boolean): PortMap {
  if (!running) return {};
  const out: PortMap = {};
  for (const key of Object.keys(record.config.ExposedPorts ?? {})) out[key] = null;
  for (const [key, bindings] of Object.entries(ports)) out[key] = bindings;
  return out;
}

function stateView(live: LiveInfo): Record<string, unknown> {
  const s = live.state;
  const running = s.status === 'running';
  return {
    Status: statusOf(live),
    Running: running,
    Paused: false,
    Restarting: live.restarting && !running,
    OOMKilled: s.oomKilled ?? false,
    Dead: false,
    Pid: running ? (s.pid ?? 0) : 0,
    ExitCode: running ? 0 : (s.exitCode ?? 0),
    Error: s.error ?? '',
    StartedAt: s.startedAt ?? zeroTime,
    FinishedAt: running ? zeroTime : (s.finishedAt ?? zeroTime),
  };
}

function mountsView(record: ContainerRecord): Array<Record<string, unknown>> {
  return record.mounts.map((m) => ({
    Type: m.Type,
    ...(m.Name !== undefined ? { Name: m.Name } : {}),
    Source: m.Source,
    Destination: m.Destination,
    ...(m.Driver !== undefined ? { Driver: m.Driver } : {}),
    Mode: m.Mode,
    RW: m.RW,
    Propagation: m.Propagation,
  }));
}

function networkSettings(record: ContainerRecord, live: LiveInfo): Record<string, unknown> {
  const running = live.state.status === 'running';
  const bridge = live.networks.bridge;
  return {
    Bridge: '',
    SandboxID: running ? record.id : '',
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    Ports: portMap(record, live.ports, running),
    SandboxKey: running ? live.sandboxKey : '',
    SecondaryIPAddresses: null,
    SecondaryIPv6Addresses: null,
    EndpointID: bridge?.EndpointID ?? '',
    Gateway: bridge?.Gateway ?? '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    IPAddress: bridge?.IPAddress ?? '',
    IPPrefixLen: bridge?.IPPrefixLen ?? 0,
    IPv6Gateway: '',
    MacAddress: bridge?.MacAddress ?? '',
    Networks: networksView(record, live),
  };
}

/** Every configured network: live endpoint settings while running, the configuration otherwise. */
function networksView(record: ContainerRecord, live: LiveInfo): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, choice] of Object.entries(record.networks)) {
    const e = live.networks[name];
    out[name] = e ?? {
      IPAMConfig: choice.ipv4Address ? { IPv4Address: choice.ipv4Address } : null,
      Links: null,
      Aliases: choice.aliases.length > 0 ? choice.aliases : null,
      NetworkID: '',
      EndpointID: '',
      Gateway: '',
      IPAddress: '',
      IPPrefixLen: 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      MacAddress: '',
      DriverOpts: null,
    };
  }
  return out;
}

export function inspectView(record: ContainerRecord, live: LiveInfo, size?: { rw: number; rootFs: number }): Record<string, unknown> {
  const view: Record<string, unknown> = {
    Id: record.id,
    Created: record.created,
    Path: record.path,
    Args: record.args,
    State: stateView(live),
    Image: record.imageId,
    ResolvConfPath: `${live.stateDir}/resolv.conf`,
    HostnamePath: `${live.stateDir}/hostname`,
    HostsPath: `${live.stateDir}/hosts`,
    LogPath: live.logPath,
    Name: `/${record.name}`,
    RestartCount: record.restartCount,
    Driver: live.driver,
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: live.execIds.length > 0 ? live.execIds : null,
    HostConfig: record.hostConfig,
    GraphDriver: { Data: null, Name: live.driver },
    Mounts: mountsView(record),
    Config: record.config,
    NetworkSettings: networkSettings(record, live),
  };
  if (size) {
    view.SizeRw = size.rw;
    view.SizeRootFs = size.rootFs;
  }
  return view;
}

export function summaryView(record: ContainerRecord, live: LiveInfo, size?: { rw: number; rootFs: number }): Record<string, unknown> {
  const running = live.state.status === 'running';
  const row: Record<string, unknown> = {
    Id: record.id,
    Names: [`/${record.name}`],
    Image: record.config.Image ?? record.imageId,
    ImageID: record.imageId,
    // dockerd's listing quotes arguments that contain a space: sh -c 'echo hi'.
    Command: [record.path, ...record.args.map((a) => (a.includes(' ') ? `'${a}'` : a))].join(' '),
    Created: Math.floor(Date.parse(record.created) / 1000),
    Ports: portList(record, live.ports, running),
    Labels: record.config.Labels ?? {},
    State: statusOf(live),
    Status: statusText(live),
    HostConfig: { NetworkMode: record.hostConfig.NetworkMode ?? 'default' },
    NetworkSettings: { Networks: networksView(record, live) },
    Mounts: mountsView(record),
  };
  if (size) {
    row.SizeRw = size.rw;
    row.SizeRootFs = size.rootFs;
  }
  return row;
}
