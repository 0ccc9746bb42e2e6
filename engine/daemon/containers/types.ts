/**
 * The Engine API's container documents as the docker CLI sends them (`POST /containers/create`):
 * Config, HostConfig, NetworkingConfig. Only the fields the daemon acts on are typed; the rest are
 * kept as received and shown back by inspect.
 */

export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Image?: string;
  Volumes?: Record<string, object> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  NetworkDisabled?: boolean;
  MacAddress?: string;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number | null;
  Shell?: string[] | null;
  [key: string]: unknown;
}

export interface RestartPolicy {
  Name: '' | 'no' | 'always' | 'unless-stopped' | 'on-failure';
  MaximumRetryCount: number;
}

export interface MountRequest {
  Type?: 'bind' | 'volume' | 'tmpfs' | string;
  Source?: string;
  Target?: string;
  ReadOnly?: boolean;
  BindOptions?: { Propagation?: string } | null;
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string> } | null;
  TmpfsOptions?: { SizeBytes?: number; Mode?: number } | null;
}

export interface HostConfig {
  Binds?: string[] | null;
  LogConfig?: { Type?: string; Config?: Record<string, string> | null };
  NetworkMode?: string;
  PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
  RestartPolicy?: Partial<RestartPolicy>;
  AutoRemove?: boolean;
  VolumesFrom?: string[] | null;
  CapAdd?: string[] | null;
  CapDrop?: string[] | null;
  Dns?: string[] | null;
  DnsOptions?: string[] | null;
  DnsSearch?: string[] | null;
  ExtraHosts?: string[] | null;
  GroupAdd?: string[] | null;
  Privileged?: boolean;
  PublishAllPorts?: boolean;
  ReadonlyRootfs?: boolean;
  SecurityOpt?: string[] | null;
  Tmpfs?: Record<string, string> | null;
  ConsoleSize?: [number, number];
  CpuShares?: number;
  Memory?: number;
  MemorySwap?: number;
  NanoCpus?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  PidsLimit?: number | null;
  CgroupParent?: string;
  Mounts?: MountRequest[] | null;
  Init?: boolean | null;
  [key: string]: unknown;
}

export interface EndpointConfig {
  IPAMConfig?: { IPv4Address?: string } | null;
  Aliases?: string[] | null;
  Links?: string[] | null;
  [key: string]: unknown;
}

export interface NetworkingConfig {
  EndpointsConfig?: Record<string, EndpointConfig | null> | null;
}

export interface CreateContainerBody extends ContainerConfig {
  HostConfig?: HostConfig;
  NetworkingConfig?: NetworkingConfig;
}

/** A mount as inspect shows it (`Mounts`), and as the daemon resolved it for the runtime. */
export interface MountPoint {
  Type: 'bind' | 'volume' | 'tmpfs';
  Name?: string;
  Source: string;
  Destination: string;
  Driver?: string;
  Mode: string;
  RW: boolean;
  Propagation: string;
}
