/** `/_ping`, `/version`, `/info`: what the docker CLI asks before anything else, in dockerd's shapes. */
import { existsSync, readFileSync } from 'node:fs';
import { arch, availableParallelism, hostname, machine, release, totalmem } from 'node:os';
import { apiVersion, minApiVersion } from '../api-version.js';
import type { DaemonContext } from '../daemon-context.js';
import type { ApiRequest } from '../request.js';
import { sendJSON } from '../respond.js';
import { daemonVersion } from '../version.js';

/** GET and HEAD: `OK` with the headers the CLI negotiates the version from (set by the server on every answer). */
export function ping(_daemon: DaemonContext, { req, res }: ApiRequest): void {
  res.statusCode = 200;
  res.setHeader('Cache-Control', 'no-cache, no-store, must-revalidate');
  res.setHeader('Pragma', 'no-cache');
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  if (req.method === 'HEAD') {
    res.setHeader('Content-Length', 0);
    res.end();
    return;
  }
  res.setHeader('Content-Length', 2);
  res.end('OK');
}

/** Go's GOARCH names for Node's. */
export function goArch(): string {
  const a = arch();
  return a === 'x64' ? 'amd64' : a === 'ia32' ? '386' : a;
}

export function version(_daemon: DaemonContext, { res }: ApiRequest): void {
  const details = {
    ApiVersion: apiVersion,
    Arch: goArch(),
    BuildTime: '',
    Experimental: 'false',
    GitCommit: '',
    GoVersion: '',
    KernelVersion: release(),
    MinAPIVersion: minApiVersion,
    NodeVersion: process.version,
    Os: 'linux',
  };
  sendJSON(res, 200, {
    Platform: { Name: 'tsdocker Engine' },
    Components: [{ Name: 'Engine', Version: daemonVersion, Details: details }],
    Version: daemonVersion,
    ApiVersion: apiVersion,
    MinAPIVersion: minApiVersion,
    GitCommit: '',
    GoVersion: '',
    Os: 'linux',
    Arch: goArch(),
    KernelVersion: release(),
    BuildTime: '',
  });
}

/** PRETTY_NAME and VERSION_ID of /etc/os-release. */
function osRelease(): { name: string; version: string } {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    const get = (key: string) => {
      const m = new RegExp(`^${key}=(.*)$`, 'm').exec(text);
      return m ? m[1]!.replace(/^"(.*)"$/, '$1') : '';
    };
    return { name: get('PRETTY_NAME') || 'Linux', version: get('VERSION_ID') };
  } catch {
    return { name: 'Linux', version: '' };
  }
}

function backingFilesystem(dir: string): string {
  // Longest mount point containing dir, from /proc/self/mounts.
  try {
    let best = { point: '', type: '' };
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const [, point, type] = line.split(' ');
      if (!point || !type) continue;
      const p = point.replace(/\\040/g, ' ');
      if ((dir === p || dir.startsWith(p.endsWith('/') ? p : `${p}/`)) && p.length >= best.point.length) best = { point: p, type };
    }
    return best.type === 'ext4' || best.type === 'ext3' || best.type === 'ext2' ? 'extfs' : best.type;
  } catch {
    return '';
  }
}

export async function info(daemon: DaemonContext, { res }: ApiRequest): Promise<void> {
  const { engine, config } = daemon;
  let running = 0;
  const ids = daemon.containers?.ids() ?? [];
  for (const id of ids) if (await daemon.containers.isRunning(id).catch(() => false)) running++;
  const os = osRelease();
  const cgroupV2 = existsSync('/sys/fs/cgroup/cgroup.controllers');
  const driver = engine.snapshots.name;
  sendJSON(res, 200, {
    ID: daemon.engineId,
    Containers: ids.length,
    ContainersRunning: running,
    ContainersPaused: 0,
    ContainersStopped: ids.length - running,
    Images: engine.images.all().length,
    Driver: driver,
    DriverStatus: [['Backing Filesystem', backingFilesystem(config.dataRoot)]],
    Plugins: { Volume: [], Network: [], Authorization: null, Log: [] },
    MemoryLimit: true,
    SwapLimit: true,
    KernelMemory: false,
    KernelMemoryTCP: false,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: true,
    BridgeNfIptables: false,
    BridgeNfIp6tables: false,
    Debug: config.debug,
    NFd: 0,
    OomKillDisable: false,
    NGoroutines: 0,
    SystemTime: new Date().toISOString(),
    LoggingDriver: 'json-file',
    CgroupDriver: 'cgroupfs',
    CgroupVersion: cgroupV2 ? '2' : '1',
    NEventsListener: daemon.events?.listeners ?? 0,
    KernelVersion: release(),
    OperatingSystem: os.name,
    OSVersion: os.version,
    OSType: 'linux',
    Architecture: machine(),
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: {
      AllowNondistributableArtifactsCIDRs: [],
      AllowNondistributableArtifactsHostnames: [],
      InsecureRegistryCIDRs: ['127.0.0.0/8'],
      IndexConfigs: Object.fromEntries(
        [
          ['docker.io', { Name: 'docker.io', Mirrors: [], Secure: true, Official: true }],
          ...config.insecureRegistries.map((h) => [h, { Name: h, Mirrors: [], Secure: false, Official: false }]),
        ] as Array<[string, unknown]>,
      ),
      Mirrors: [],
    },
    NCPU: availableParallelism(),
    MemTotal: totalmem(),
    GenericResources: null,
    DockerRootDir: config.dataRoot,
    HttpProxy: process.env.HTTP_PROXY ?? process.env.http_proxy ?? '',
    HttpsProxy: process.env.HTTPS_PROXY ?? process.env.https_proxy ?? '',
    NoProxy: process.env.NO_PROXY ?? process.env.no_proxy ?? '',
    Name: hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: daemonVersion,
    Runtimes: {},
    DefaultRuntime: '',
    Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
    LiveRestoreEnabled: false,
    Isolation: '',
    InitBinary: '',
    ContainerdCommit: { ID: '', Expected: '' },
    RuncCommit: { ID: '', Expected: '' },
    InitCommit: { ID: '', Expected: '' },
    SecurityOptions: [],
    Warnings: null,
  });
}
