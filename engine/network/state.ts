/**
 * What the network manager keeps on disk: one JSON document, `<stateDir>/networks.json`, holding
 * every network with its address allocations and endpoints. It is replaced atomically (temp file +
 * fsync + rename + directory fsync) on every change, so after a crash or a daemon restart the
 * document says exactly which addresses are taken and which links and rules exist.
 */
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { TsdError, isNotFound } from '../../shared/errors.js';
import { replaceFileDurably } from '../sys/durable-file.js';
import type { PublishedPort } from './ports.js';

export const stateFile = 'networks.json';
const stateVersion = 1;

/** docker's driver names: `null` is the driver of the `none` network. */
export type Driver = 'bridge' | 'host' | 'null';

export interface EndpointRecord {
  containerId: string;
  endpointId: string;
  /** The container's name (no leading slash). */
  name: string;
  hostname?: string;
  aliases: string[];
  /** Bridge endpoints: the container's address, MAC and interface, and the host end of the veth. */
  ip?: string;
  /** docker's `--ip`, when the address was asked for. */
  requestedIp?: string;
  mac?: string;
  ifname?: string;
  hostVeth?: string;
  /** Did this endpoint install the container's default route? */
  defaultRoute?: boolean;
  netnsPath?: string;
  /** A hosts file (the runtime bind-mounts it) rewritten in place as containers join and leave. */
  hostsPath?: string;
  /** `--add-host` lines: `name:ip`. */
  extraHosts?: string[];
  /** Published ports (host ports resolved), published again when the manager reopens. */
  ports?: PublishedPort[];
}

export interface NetworkRecord {
  id: string;
  name: string;
  driver: Driver;
  created: string;
  /** The predefined networks (`bridge`, `host`, `none`) cannot be removed. */
  predefined: boolean;
  internal: boolean;
  /** Bridge networks: */
  subnet?: string;
  gateway?: string;
  bridge?: string;
  mtu?: number;
  masquerade?: boolean;
  /** The last address handed out (allocation continues after it, like docker's serial allocator). */
  lastIp?: string;
  options: Record<string, string>;
  labels: Record<string, string>;
  endpoints: Record<string, EndpointRecord>;
}

export interface State {
  networks: NetworkRecord[];
}

export async function readState(dir: string): Promise<State> {
  const path = join(dir, stateFile);
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    if (isNotFound(err)) return { networks: [] };
    throw err;
  }
  let doc: { version?: unknown; networks?: unknown };
  try {
    doc = JSON.parse(raw) as typeof doc;
  } catch (err) {
    throw new TsdError('CONFIG_INVALID', `${path} is not valid JSON`, { cause: err });
  }
  if (doc.version !== stateVersion || !Array.isArray(doc.networks)) {
    throw new TsdError('CONFIG_INVALID', `${path}: unknown version ${String(doc.version)}`);
  }
  return { networks: doc.networks as NetworkRecord[] };
}

export async function writeState(dir: string, state: State): Promise<void> {
  await replaceFileDurably(dir, stateFile, `${JSON.stringify({ version: stateVersion, networks: state.networks }, null, 1)}\n`);
}

/** Make the state directory and drop temp files a crash left. */
export async function prepareStateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (const name of await readdir(dir)) if (name.startsWith(`${stateFile}.tmp-`)) await rm(join(dir, name), { force: true });
}
