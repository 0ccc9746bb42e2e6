/**
 * The container spec: everything the runtime needs to run one container, already resolved (no
 * image lookups left). `buildSpec` derives it from an image config (Env, Entrypoint, Cmd,
 * WorkingDir, User, StopSignal) and docker run flags, with docker's defaults and error messages.
 */
import { randomBytes } from 'node:crypto';
import { availableParallelism, hostname as osHostname } from 'node:os';
import { isAbsolute, posix } from 'node:path';
import type { Mount } from '../snapshots/snapshotter.js';
import { effectiveCapabilities } from './capabilities.js';
import { DEFAULT_PATH } from './default-path.js';
import { RuntimeError } from './errors.js';
import { signalName, signalNumber } from './signals.js';

export interface ProcessSpec {
  /** argv; args[0] is looked up in the container's PATH when it has no slash. */
  args: string[];
  /** KEY=VALUE entries. */
  env: string[];
  /** Absolute working directory inside the container (created when missing). */
  cwd: string;
  /** docker's user string ("" = root): name, uid, uid:gid, name:group. */
  user: string;
  /** `--group-add`: extra supplementary groups (names or ids). */
  groupAdd: string[];
  tty: boolean;
  capabilities: string[];
  noNewPrivileges: boolean;
}

export interface BindMountSpec {
  source: string;
  destination: string;
  readonly: boolean;
  /** Mount propagation of the bind (docker's default: rprivate). */
  propagation: 'private' | 'rprivate' | 'shared' | 'rshared' | 'slave' | 'rslave';
}

export interface TmpfsMountSpec {
  destination: string;
  /** mount(8)-style options (flags and data), e.g. ['nosuid', 'nodev', 'noexec', 'size=65536k']. */
  options: string[];
}

/** none: an empty network namespace (lo only); host: the host's; netns: join an existing one (the network helper makes it). */
export type NetworkSpec = { mode: 'none' } | { mode: 'host' } | { mode: 'netns'; path: string };

export interface ResourcesSpec {
  /** Bytes (docker --memory). */
  memory?: number;
  /** memory + swap in bytes, -1 = unlimited (docker --memory-swap); default: twice the memory. */
  memorySwap?: number;
  /** CPUs (docker --cpus), e.g. 0.5. */
  cpus?: number;
  /** Relative weight (docker --cpu-shares, 2..262144). */
  cpuShares?: number;
  /** Maximum number of tasks (docker --pids-limit); <= 0 = unlimited. */
  pidsLimit?: number;
}

export interface LogSpec {
  /** Bytes per json-file log before rotation (docker --log-opt max-size); undefined = never rotate. */
  maxSize?: number;
  /** Files kept including the current one (docker --log-opt max-file, default 1). */
  maxFile: number;
}

export interface ContainerSpec {
  /** 64 hex characters. */
  id: string;
  rootfs: Mount[];
  readonlyRootfs: boolean;
  hostname: string;
  process: ProcessSpec;
  /** docker -i: the container's stdin is a pipe the attach socket writes to. */
  openStdin: boolean;
  /** Close the container's stdin when the first attached client detaches. */
  stdinOnce: boolean;
  /** The pty's size at start (tty only). */
  consoleSize?: { rows: number; cols: number };
  stopSignal: string;
  /** Seconds `stop` waits before SIGKILL (docker's default 10). */
  stopTimeout: number;
  binds: BindMountSpec[];
  tmpfs: TmpfsMountSpec[];
  network: NetworkSpec;
  /** Extra /etc/hosts lines ("name:ip", docker --add-host). */
  extraHosts: string[];
  /** Name servers for /etc/resolv.conf (docker --dns); empty: the host's. */
  dns: string[];
  resources: ResourcesSpec;
  log: LogSpec;
}

/** The image config fields the runtime uses (the `config` object of an OCI/docker image config). */
export interface ImageRunConfig {
  Env?: string[] | null;
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  WorkingDir?: string;
  User?: string;
  StopSignal?: string;
}

/** docker run flags, as the daemon receives them. */
export interface RunOptions {
  id?: string;
  hostname?: string;
  env?: string[];
  user?: string;
  groupAdd?: string[];
  workdir?: string;
  /** Replaces the image's Entrypoint (and drops its Cmd); [] clears it. */
  entrypoint?: string[];
  cmd?: string[];
  tty?: boolean;
  interactive?: boolean;
  /** Default: true when interactive (docker run -i attaches and closes stdin on detach). */
  stdinOnce?: boolean;
  consoleSize?: { rows: number; cols: number };
  readOnly?: boolean;
  /** Bytes or a docker size ("64m"). */
  memory?: number | string;
  memorySwap?: number | string;
  cpus?: number;
  cpuShares?: number;
  pidsLimit?: number;
  /** `-v /host:/ctr[:ro]` strings. */
  volumes?: string[];
  /** `--tmpfs /path[:options]` strings. */
  tmpfs?: string[];
  network?: 'none' | 'host' | { netnsPath: string };
  extraHosts?: string[];
  dns?: string[];
  capAdd?: string[];
  capDrop?: string[];
  /** `--security-opt no-new-privileges`; this runtime's default is true (see README). */
  noNewPrivileges?: boolean;
  stopSignal?: string;
  stopTimeout?: number;
  logOpts?: { 'max-size'?: string; 'max-file'?: string };
}

export { DEFAULT_PATH };
const MIN_MEMORY = 6 * 1024 * 1024;

const invalid = (msg: string): RuntimeError => new RuntimeError('invalid-spec', msg);

/** docker's RAMInBytes: "64m", "1g", "512k", "100", "64MB" (binary units). */
export function parseSize(value: number | string, what: string): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw invalid(`invalid size for ${what}: ${value}`);
    return value;
  }
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$/i.exec(value);
  if (!m) throw invalid(`invalid size: '${value}'`);
  const exp = ['', 'k', 'm', 'g', 't', 'p'].indexOf((m[2] ?? '').toLowerCase());
  return Math.floor(Number(m[1]) * 1024 ** exp);
}

export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

/** The name of a `NAME=value` entry (all of it when there is no `=`). */
export function envKey(entry: string): string {
  const eq = entry.indexOf('=');
  return eq < 0 ? entry : entry.slice(0, eq);
}

/** Image env, then run env (a later key replaces an earlier one, in its place). */
export function mergeEnv(...lists: Array<readonly string[] | null | undefined>): string[] {
  const out: string[] = [];
  const index = new Map<string, number>();
  for (const list of lists) {
    for (const entry of list ?? []) {
      const key = envKey(entry);
      const at = index.get(key);
      if (at === undefined) {
        index.set(key, out.length);
        out.push(entry);
      } else {
        out[at] = entry;
      }
    }
  }
  return out;
}

export function parseVolume(v: string): BindMountSpec {
  const parts = v.split(':');
  if (parts.length < 2 || parts.length > 3) throw invalid(`invalid volume specification: '${v}'`);
  const [source = '', destination = '', mode = ''] = parts;
  if (!isAbsolute(source)) throw invalid(`invalid volume specification: '${v}': named volumes are not supported, the source must be an absolute host path`);
  if (!posix.isAbsolute(destination)) throw invalid(`invalid volume specification: '${v}': invalid mount config: invalid mount path: '${destination}' mount path must be absolute`);
  if (posix.normalize(destination) === '/') throw invalid(`invalid volume specification: '${v}': invalid mount config: destination can't be '/'`);
  let readonly = false;
  let propagation: BindMountSpec['propagation'] = 'rprivate';
  for (const opt of mode ? mode.split(',') : []) {
    if (opt === 'ro') readonly = true;
    else if (opt === 'rw') readonly = false;
    else if (['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave'].includes(opt)) propagation = opt as BindMountSpec['propagation'];
    else if (opt === 'z' || opt === 'Z' || opt === 'nocopy') continue;
    else throw invalid(`invalid mode: ${opt}`);
  }
  return { source: posix.normalize(source), destination: posix.normalize(destination), readonly, propagation };
}

export function parseTmpfs(v: string): TmpfsMountSpec {
  const colon = v.indexOf(':');
  const destination = colon < 0 ? v : v.slice(0, colon);
  const opts = colon < 0 ? [] : v.slice(colon + 1).split(',').filter(Boolean);
  if (!posix.isAbsolute(destination)) throw invalid(`invalid mount path: '${destination}' mount path must be absolute`);
  // docker's defaults for --tmpfs, overridable by the given options.
  const options = ['noexec', 'nosuid', 'nodev'];
  for (const o of opts) {
    const opposite: Record<string, string> = { exec: 'noexec', suid: 'nosuid', dev: 'nodev' };
    const cancel = opposite[o];
    if (cancel) {
      const i = options.indexOf(cancel);
      if (i >= 0) options.splice(i, 1);
    }
    if (!options.includes(o)) options.push(o);
  }
  return { destination: posix.normalize(destination), options };
}

/** A signal as docker accepts it ("SIGTERM", "TERM", "15"), in canonical form ("SIGTERM"). */
export function checkSignal(name: string): string {
  const n = signalNumber(name);
  if (n === undefined) throw invalid(`Invalid signal: ${name}`);
  return signalName(n);
}

export function buildSpec(rootfs: Mount[], image: ImageRunConfig = {}, run: RunOptions = {}): ContainerSpec {
  const id = run.id ?? newContainerId();
  if (!/^[0-9a-f]{64}$/.test(id)) throw invalid(`invalid container id: ${JSON.stringify(id)}`);
  const networkMode: NetworkSpec =
    run.network === undefined || run.network === 'none' ? { mode: 'none' }
      : run.network === 'host' ? { mode: 'host' }
        : { mode: 'netns', path: run.network.netnsPath };
  if (networkMode.mode === 'netns' && !isAbsolute(networkMode.path)) throw invalid(`network namespace path must be absolute: ${networkMode.path}`);
  const hostname = run.hostname ?? (networkMode.mode === 'host' ? osHostname() : id.slice(0, 12));
  if (!/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/.test(hostname)) throw invalid(`invalid hostname format: ${hostname}`);

  const entrypoint = run.entrypoint !== undefined ? run.entrypoint : (image.Entrypoint ?? []);
  const cmd = run.cmd && run.cmd.length > 0 ? run.cmd : run.entrypoint !== undefined ? [] : (image.Cmd ?? []);
  const args = [...entrypoint, ...cmd];
  if (args.length === 0) throw invalid('No command specified');

  const workdir = run.workdir ?? (image.WorkingDir || '/');
  if (!posix.isAbsolute(workdir)) throw invalid(`the working directory '${workdir}' is invalid, it needs to be an absolute path`);
  const tty = run.tty ?? false;
  const imageEnv = image.Env ?? [];
  const hasPath = [...imageEnv, ...(run.env ?? [])].some((e) => envKey(e) === 'PATH');
  const env = mergeEnv(hasPath ? [] : [`PATH=${DEFAULT_PATH}`], [`HOSTNAME=${hostname}`], tty ? ['TERM=xterm'] : [], imageEnv, run.env);

  let capabilities: string[];
  try {
    capabilities = effectiveCapabilities(run.capAdd, run.capDrop);
  } catch (err) {
    throw invalid((err as Error).message);
  }

  const resources: ResourcesSpec = {};
  if (run.memory !== undefined) {
    const memory = parseSize(run.memory, 'memory');
    if (memory > 0) {
      if (memory < MIN_MEMORY) throw invalid('Minimum memory limit allowed is 6MB');
      resources.memory = memory;
    }
  }
  if (run.memorySwap !== undefined) {
    const swap = parseSize(run.memorySwap, 'memory-swap');
    if (swap !== 0) {
      if (resources.memory === undefined) throw invalid('You should always set the Memory limit when using Memoryswap limit');
      if (swap > 0 && swap < resources.memory) throw invalid('Minimum memoryswap limit should be larger than memory limit, see usage');
      resources.memorySwap = swap;
    }
  }
  if (run.cpus !== undefined && run.cpus !== 0) {
    const max = availableParallelism();
    if (!(run.cpus >= 0.01 && run.cpus <= max)) throw invalid(`Range of CPUs is from 0.01 to ${max}.00, as there are only ${max} CPUs available`);
    resources.cpus = run.cpus;
  }
  if (run.cpuShares !== undefined && run.cpuShares !== 0) {
    if (!Number.isInteger(run.cpuShares) || run.cpuShares < 2 || run.cpuShares > 262144) throw invalid(`invalid cpu-shares: ${run.cpuShares} (2 to 262144)`);
    resources.cpuShares = run.cpuShares;
  }
  if (run.pidsLimit !== undefined && run.pidsLimit > 0) resources.pidsLimit = Math.floor(run.pidsLimit);

  const maxSize = run.logOpts?.['max-size'] !== undefined ? parseSize(run.logOpts['max-size'], 'max-size') : undefined;
  const maxFile = run.logOpts?.['max-file'] !== undefined ? Number(run.logOpts['max-file']) : 1;
  if (!Number.isInteger(maxFile) || maxFile < 1) throw invalid(`invalid value for max-file: ${run.logOpts?.['max-file']}`);
  if (maxSize !== undefined && maxSize <= 0) throw invalid(`invalid value for max-size: ${run.logOpts?.['max-size']}`);
  if (maxFile > 1 && maxSize === undefined) throw invalid("max-file can't be set without max-size");

  const binds = (run.volumes ?? []).map(parseVolume);
  const tmpfs = (run.tmpfs ?? []).map(parseTmpfs);
  const destinations = [...binds, ...tmpfs].map((m) => m.destination);
  const dup = destinations.find((d, i) => destinations.indexOf(d) !== i);
  if (dup) throw invalid(`Duplicate mount point: ${dup}`);

  const interactive = run.interactive ?? false;
  const spec: ContainerSpec = {
    id,
    rootfs,
    readonlyRootfs: run.readOnly ?? false,
    hostname,
    process: {
      args,
      env,
      cwd: posix.normalize(workdir),
      user: run.user ?? image.User ?? '',
      groupAdd: run.groupAdd ?? [],
      tty,
      capabilities,
      noNewPrivileges: run.noNewPrivileges ?? true,
    },
    openStdin: interactive,
    stdinOnce: interactive && (run.stdinOnce ?? true),
    stopSignal: checkSignal(run.stopSignal ?? (image.StopSignal || 'SIGTERM')),
    stopTimeout: run.stopTimeout ?? 10,
    binds,
    tmpfs,
    network: networkMode,
    extraHosts: run.extraHosts ?? [],
    dns: run.dns ?? [],
    resources,
    log: maxSize === undefined ? { maxFile } : { maxSize, maxFile },
  };
  if (run.consoleSize) spec.consoleSize = run.consoleSize;
  return spec;
}
