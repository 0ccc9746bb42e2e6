/**
 * Named volumes (the `local` driver): `<data-root>/volumes/<name>/_data` holds the files, and
 * `volume.json` beside it what `docker volume inspect` shows. Containers bind-mount `_data`.
 * A volume in use by a container cannot be removed; which containers use which volume is the
 * container manager's knowledge, asked through `usedBy`.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isNotFound, TsdError } from '../../../shared/errors.js';

export interface Volume {
  CreatedAt: string;
  Driver: 'local';
  Labels: Record<string, string> | null;
  Mountpoint: string;
  Name: string;
  Options: Record<string, string> | null;
  Scope: 'local';
}

export interface CreateVolumeRequest {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

const namePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/** docker's name check for local volumes (a relative path given to -v ends up here too). */
export function checkVolumeName(name: string): void {
  if (name.length < 2) throw new TsdError('INVALID_ARGUMENT', `create ${name}: volume name is too short, names should be at least two alphanumeric characters`);
  if (!namePattern.test(name)) {
    throw new TsdError('INVALID_ARGUMENT', `create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`);
  }
}

/** dockerd's RFC 3339 with the local offset, to the second (`2024-01-02T03:04:05Z` in UTC). */
function createdAt(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class VolumeStore {
  private readonly volumes = new Map<string, Volume>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(readonly root: string, private readonly usedBy: (name: string) => string[]) {}

  static async open(dataRoot: string, usedBy: (name: string) => string[]): Promise<VolumeStore> {
    const store = new VolumeStore(join(dataRoot, 'volumes'), usedBy);
    await mkdir(store.root, { recursive: true, mode: 0o701 });
    for (const name of await readdir(store.root)) {
      try {
        const v = JSON.parse(await readFile(join(store.root, name, 'volume.json'), 'utf8')) as Volume;
        if (v.Name === name) store.volumes.set(name, { ...v, Mountpoint: join(store.root, name, '_data') });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        // Half-created (the daemon died between mkdir and the record): nothing uses it yet.
        await rm(join(store.root, name), { recursive: true, force: true });
      }
    }
    return store;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn, fn);
    this.queue = p.catch(() => {});
    return p;
  }

  /** Create a volume (a random 64-hex name when none is given); an existing one is returned as it is. */
  create(req: CreateVolumeRequest = {}): Promise<{ volume: Volume; created: boolean }> {
    return this.serial(async () => {
      const name = req.Name || randomBytes(32).toString('hex');
      checkVolumeName(name);
      const driver = req.Driver || 'local';
      if (driver !== 'local') throw new TsdError('NOT_FOUND', `error looking up volume plugin ${driver}: plugin "${driver}" not found`);
      const existing = this.volumes.get(name);
      if (existing) return { volume: structuredClone(existing), created: false };
      const opts = req.DriverOpts ?? {};
      if (Object.keys(opts).length > 0) throw new TsdError('UNSUPPORTED', `create ${name}: local volume options (${Object.keys(opts).join(', ')}) are not supported`, { status: 501 });
      const dir = join(this.root, name);
      await mkdir(join(dir, '_data'), { recursive: true, mode: 0o755 });
      const volume: Volume = {
        CreatedAt: createdAt(new Date()),
        Driver: 'local',
        Labels: req.Labels ?? null,
        Mountpoint: join(dir, '_data'),
        Name: name,
        Options: req.DriverOpts ?? null,
        Scope: 'local',
      };
      const tmp = join(dir, `volume.json.tmp-${process.pid}`);
      await writeFile(tmp, `${JSON.stringify(volume)}\n`, { mode: 0o600 });
      await rename(tmp, join(dir, 'volume.json'));
      this.volumes.set(name, volume);
      return { volume: structuredClone(volume), created: true };
    });
  }

  get(name: string): Volume {
    const v = this.volumes.get(name);
    if (!v) throw new TsdError('NOT_FOUND', `get ${name}: no such volume`);
    return structuredClone(v);
  }

  has(name: string): boolean {
    return this.volumes.has(name);
  }

  list(): Volume[] {
    return [...this.volumes.values()].map((v) => structuredClone(v)).sort((a, b) => (a.Name < b.Name ? -1 : 1));
  }

  remove(name: string, options: { force?: boolean } = {}): Promise<void> {
    return this.serial(async () => {
      if (!this.volumes.has(name)) {
        if (options.force) return;
        throw new TsdError('NOT_FOUND', `get ${name}: no such volume`);
      }
      const users = this.usedBy(name);
      if (users.length > 0) throw new TsdError('ALREADY_EXISTS', `remove ${name}: volume is in use - [${users.join(', ')}]`);
      this.volumes.delete(name);
      await rm(join(this.root, name), { recursive: true, force: true });
    });
  }

  /** Remove every volume no container uses and `keep` does not hold back; returns the names and bytes freed. */
  async prune(keep: (v: Volume) => boolean = () => false): Promise<{ VolumesDeleted: string[]; SpaceReclaimed: number }> {
    const deleted: string[] = [];
    let space = 0;
    for (const v of this.list()) {
      if (keep(v) || this.usedBy(v.Name).length > 0) continue;
      space += await duBytes(v.Mountpoint);
      await this.remove(v.Name).catch(() => {});
      if (!this.volumes.has(v.Name)) deleted.push(v.Name);
    }
    return { VolumesDeleted: deleted, SpaceReclaimed: space };
  }
}

/** Bytes of the regular files below a directory (symlinks not followed). */
async function duBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await duBytes(p);
    else if (e.isFile()) total += (await lstat(p)).size;
  }
  return total;
}
