/**
 * A container's state directory (`<stateRoot>/<id>/`), see README.md for the list of files.
 * config.json is written once at create; state.json is replaced atomically (temp file + rename)
 * by the shim at each transition, so a reader sees the old or the new state, never half of one.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupPaths } from './cgroups.js';
import type { ContainerSpec } from './spec.js';

export const CONFIG_FILE = 'config.json';
export const STATE_FILE = 'state.json';
export const SOCKET_FILE = 'attach.sock';
export const SHIM_LOG = 'shim.log';
export const ROOTFS_DIR = 'rootfs';
export const HOSTS_FILE = 'hosts';
export const HOSTNAME_FILE = 'hostname';
export const RESOLV_FILE = 'resolv.conf';

/** The files in the state dir bind-mounted over the container's own. */
export const ETC_MOUNTS = [
  { file: HOSTS_FILE, destination: '/etc/hosts' },
  { file: HOSTNAME_FILE, destination: '/etc/hostname' },
  { file: RESOLV_FILE, destination: '/etc/resolv.conf' },
] as const;

export const logFileName = (id: string): string => `${id}-json.log`;

export interface ContainerConfig {
  version: 1;
  spec: ContainerSpec;
  cgroup: CgroupPaths;
  createdAt: string;
}

export type ContainerStatus = 'created' | 'running' | 'exited';

export interface ContainerState {
  status: ContainerStatus;
  /** Host PID of the container's init (its PID 1). */
  pid?: number;
  shimPid?: number;
  /** The shim's start time (clock ticks since boot, /proc/<pid>/stat field 22): tells a live shim from a reused PID. */
  shimStartTime?: number;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  oomKilled?: boolean;
  error?: string;
  /** How many times the container has been started. */
  starts?: number;
}

export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

export function readConfig(dir: string): ContainerConfig {
  return JSON.parse(readFileSync(join(dir, CONFIG_FILE), 'utf8')) as ContainerConfig;
}

export function readState(dir: string): ContainerState {
  return JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as ContainerState;
}

export function writeState(dir: string, state: ContainerState): void {
  writeJsonAtomic(join(dir, STATE_FILE), state);
}

/** A process's start time in clock ticks since boot, or undefined if it does not exist. */
export function processStartTime(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

/** Is the process that started at `startTime` still alive (and not a zombie)? */
export function processAlive(pid: number, startTime: number | undefined): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') return false;
    return startTime === undefined || Number(fields[19]) === startTime;
  } catch {
    return false;
  }
}
