/**
 * The body of POST /containers/create from `run`/`create` flags, laid out as the docker CLI sends
 * it (the same fields with the same zero values), so that the daemon fills in the same defaults
 * and `inspect` shows the same container whichever CLI made it.
 */
import { CliError } from '../cli-error.js';
import { environment } from './env-file.js';
import { keyValueMap, restartPolicy } from './flag-values.js';
import { addExposed, parsePublish } from './port-specs.js';
import type { ContainerFlags } from './run-flags.js';
import { parseTmpfs, parseVolumes } from './volume-specs.js';

export interface CreateRequest {
  body: Record<string, unknown>;
  /** What the CLI attaches to (after -a / -i, before -d clears them). */
  attach: { stdin: boolean; stdout: boolean; stderr: boolean };
  tty: boolean;
  autoRemove: boolean;
}


function ulimits(entries: string[] | undefined): Array<{ Name: string; Hard: number; Soft: number }> {
  return (entries ?? []).map((entry) => {
    const m = /^([a-z]+)=(-?\d+)(?::(-?\d+))?$/.exec(entry);
    if (!m) throw new CliError(`invalid ulimit argument: ${entry}`);
    const soft = Number(m[2]);
    const hard = m[3] === undefined ? soft : Number(m[3]);
    if (soft > hard) throw new CliError(`ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`);
    return { Name: m[1]!, Hard: hard, Soft: soft };
  });
}

/** docker normalises capability names: upper case with the CAP_ prefix (ALL stays ALL). */
function capabilities(names: string[] | undefined): string[] | null {
  if (!names || names.length === 0) return null;
  return names.map((name) => {
    const upper = name.toUpperCase();
    return upper === 'ALL' || upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  });
}

const orNull = <T>(list: T[] | undefined): T[] | null => (list && list.length > 0 ? list : null);

export async function createRequest(image: string, args: string[], flags: ContainerFlags & { net?: string }, env: NodeJS.ProcessEnv): Promise<CreateRequest> {
  const streams = new Set(flags.attach ?? []);
  const attach = {
    stdin: streams.has('stdin') || Boolean(flags.interactive),
    stdout: streams.size === 0 || streams.has('stdout'),
    stderr: streams.size === 0 || streams.has('stderr'),
  };
  const volumes = parseVolumes(flags.volume ?? []);
  const ports = parsePublish(flags.publish ?? []);
  addExposed(ports, flags.expose ?? []);
  const restart = restartPolicy(flags.restart ?? 'no');
  if (flags.rm && restart.Name !== '' && restart.Name !== 'no') throw new CliError('conflicting options: cannot specify both --restart and --rm');
  const envList = await environment(flags.envFile ?? [], flags.env ?? [], env);
  let entrypoint: string[] | null = null;
  if (flags.entrypoint !== undefined) entrypoint = [flags.entrypoint];
  const network = flags.network ?? flags.net ?? 'default';
  const tty = Boolean(flags.tty);
  const logOpts = keyValueMap(flags.logOpt, 'log-opt');
  const sysctls = keyValueMap(flags.sysctl, 'sysctl');
  const tmpfs = parseTmpfs(flags.tmpfs ?? []);

  const config: Record<string, unknown> = {
    Hostname: flags.hostname ?? '',
    Domainname: flags.domainname ?? '',
    User: flags.user ?? '',
    AttachStdin: attach.stdin,
    AttachStdout: attach.stdout,
    AttachStderr: attach.stderr,
    ...(Object.keys(ports.exposed).length > 0 ? { ExposedPorts: ports.exposed } : {}),
    Tty: tty,
    OpenStdin: Boolean(flags.interactive),
    // Attached with -i: the daemon closes the container's stdin when the client's ends.
    StdinOnce: Boolean(flags.interactive) && attach.stdin,
    Env: orNull(envList),
    Cmd: orNull(args),
    Image: image,
    Volumes: volumes.anonymous,
    WorkingDir: flags.workdir ?? '',
    Entrypoint: entrypoint,
    OnBuild: null,
    Labels: keyValueMap(flags.label, 'label'),
    ...(flags.stopSignal !== undefined ? { StopSignal: flags.stopSignal } : {}),
    ...(flags.stopTimeout !== undefined ? { StopTimeout: flags.stopTimeout } : {}),
  };
  const hostConfig: Record<string, unknown> = {
    Binds: orNull(volumes.binds),
    ContainerIDFile: flags.cidfile ?? '',
    LogConfig: { Type: flags.logDriver ?? '', Config: logOpts },
    NetworkMode: network,
    PortBindings: ports.bindings,
    RestartPolicy: restart,
    AutoRemove: Boolean(flags.rm),
    VolumeDriver: '',
    VolumesFrom: orNull(flags.volumesFrom),
    ConsoleSize: [0, 0],
    CapAdd: capabilities(flags.capAdd),
    CapDrop: capabilities(flags.capDrop),
    CgroupnsMode: '',
    Dns: flags.dns ?? [],
    DnsOptions: flags.dnsOption ?? [],
    DnsSearch: flags.dnsSearch ?? [],
    ExtraHosts: orNull(flags.addHost),
    GroupAdd: orNull(flags.groupAdd),
    IpcMode: flags.ipc ?? '',
    Cgroup: '',
    Links: null,
    OomScoreAdj: 0,
    PidMode: flags.pid ?? '',
    Privileged: Boolean(flags.privileged),
    PublishAllPorts: Boolean(flags.publishAll),
    ReadonlyRootfs: Boolean(flags.readOnly),
    SecurityOpt: orNull(flags.securityOpt),
    ...(tmpfs ? { Tmpfs: tmpfs } : {}),
    UTSMode: flags.uts ?? '',
    UsernsMode: '',
    ShmSize: flags.shmSize ?? 0,
    ...(Object.keys(sysctls).length > 0 ? { Sysctls: sysctls } : {}),
    ...(flags.runtime ? { Runtime: flags.runtime } : {}),
    Isolation: '',
    CpuShares: flags.cpuShares ?? 0,
    Memory: flags.memory ?? 0,
    NanoCpus: flags.cpus ?? 0,
    CgroupParent: flags.cgroupParent ?? '',
    BlkioWeight: 0,
    BlkioWeightDevice: [],
    BlkioDeviceReadBps: [],
    BlkioDeviceWriteBps: [],
    BlkioDeviceReadIOps: [],
    BlkioDeviceWriteIOps: [],
    CpuPeriod: 0,
    CpuQuota: 0,
    CpuRealtimePeriod: 0,
    CpuRealtimeRuntime: 0,
    CpusetCpus: flags.cpusetCpus ?? '',
    CpusetMems: flags.cpusetMems ?? '',
    Devices: [],
    DeviceCgroupRules: null,
    DeviceRequests: null,
    MemoryReservation: flags.memoryReservation ?? 0,
    MemorySwap: flags.memorySwap ?? 0,
    MemorySwappiness: -1,
    OomKillDisable: Boolean(flags.oomKillDisable),
    PidsLimit: flags.pidsLimit ?? 0,
    Ulimits: ulimits(flags.ulimit),
    CpuCount: 0,
    CpuPercent: 0,
    IOMaximumIOps: 0,
    IOMaximumBandwidth: 0,
    MaskedPaths: null,
    ReadonlyPaths: null,
    ...(flags.init !== undefined ? { Init: flags.init } : {}),
  };
  const endpoint = flags.networkAlias?.length ? { Aliases: flags.networkAlias } : undefined;
  const networking = { EndpointsConfig: endpoint ? { [network]: endpoint } : {} };
  return { body: { ...config, HostConfig: hostConfig, NetworkingConfig: networking }, attach, tty, autoRemove: Boolean(flags.rm) };
}
