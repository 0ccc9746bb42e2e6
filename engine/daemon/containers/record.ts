/**
 * What the daemon keeps per container, beside the runtime's state dir
 * (`<data-root>/containers/<id>/container.json`): its name, image, the configuration as docker
 * shows it, the networks it joins, its mounts, and the restart bookkeeping. Written atomically
 * (temp file + rename) at each change; the runtime's state.json has the process state.
 */
import { readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContainerConfig, HostConfig, MountPoint } from './types.js';

export const RECORD_FILE = 'container.json';
let writes = 0;

export interface NetworkChoice {
  aliases: string[];
  ipv4Address?: string;
}

export interface ContainerRecord {
  version: 1;
  id: string;
  /** Without the leading slash (inspect adds it). */
  name: string;
  created: string;
  imageId: string;
  /** The configuration merged with the image's (what inspect's Config shows). */
  config: ContainerConfig;
  hostConfig: HostConfig;
  /** Networks to join at start, by name: the primary one first. */
  networks: Record<string, NetworkChoice>;
  /** The command as run: Path + Args. */
  path: string;
  args: string[];
  snapshotKey: string;
  mounts: MountPoint[];
  /** Volumes made for this container alone (removed with `rm -v` / `--rm`). */
  anonymousVolumes: string[];
  restartCount: number;
  /** docker stop / kill: restart policies do not bring it back (unless-stopped not even at daemon start). */
  manuallyStopped: boolean;
}

export async function writeRecord(dir: string, record: ContainerRecord): Promise<void> {
  const tmp = join(dir, `${RECORD_FILE}.tmp-${process.pid}-${++writes}`);
  await writeFile(tmp, `${JSON.stringify(record, null, 1)}\n`, { mode: 0o600 });
  await rename(tmp, join(dir, RECORD_FILE));
}

export function readRecord(dir: string): ContainerRecord {
  return JSON.parse(readFileSync(join(dir, RECORD_FILE), 'utf8')) as ContainerRecord;
}
