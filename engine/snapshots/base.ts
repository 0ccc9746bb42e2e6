/**
 * What both snapshotters share: the metadata store, key rules, locking and crash recovery.
 *
 * Layout under the root:
 *   metadata.json          { version, nextId, snapshots: { key: { id, kind, parent?, createdAt, labels? } } }
 *   snapshots/<id>/fs      the snapshot's tree (overlay: its upper dir; vfs: a full copy)
 *   snapshots/<id>/work    overlay's workdir (active snapshots)
 *   staging/<id>           a snapshot being made, or one being deleted (rm-<id>)
 *
 * Ids are small decimal numbers, so a path is `<root>/snapshots/<id>/fs` whatever the key is:
 * keys never reach the filesystem (no path injection) and overlay's lowerdir lists stay short.
 *
 * Crash consistency: metadata.json is the only truth and is replaced atomically (temp file,
 * fsync, rename, fsync of the directory). A new snapshot is built in staging/, renamed into
 * snapshots/, and only then recorded; a removed one is first dropped from the metadata, then
 * deleted. So after a crash at any point, every directory the metadata names exists, and the
 * leftovers (staging/*, metadata temp files, snapshots/<id> no record names) are removed by the
 * next open(). One process owns a root at a time (the engine daemon).
 */
import type { BigIntStats } from 'node:fs';
import { lstat, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isNotFound, TsdError } from '../../shared/errors.js';
import { replaceFileDurably } from '../sys/durable-file.js';
import { busyPaths } from './mount.js';
import {
  SnapshotError,
  validateKey,
  type Mount,
  type SnapshotInfo,
  type SnapshotKind,
  type Snapshotter,
  type Usage,
} from './snapshotter.js';

/** Points where a test can stop the process to prove crash recovery. */
export type CrashPoint = 'staged' | 'placed' | 'metadata-temp' | 'metadata-renamed';

export interface SnapshotterOptions {
  /** The snapshotter's own directory (created if missing). */
  root: string;
  /** Test hook: called at each crash point of prepare/view (await it to pause there). */
  onCrashPoint?: (point: CrashPoint, key: string) => void | Promise<void>;
}

export interface Rec {
  id: number;
  kind: SnapshotKind;
  parent?: string;
  createdAt: string;
  labels?: Record<string, string>;
}

interface MetaFile {
  version: 1;
  nextId: number;
  snapshots: Record<string, Rec>;
}

const META = 'metadata.json';

export abstract class BaseSnapshotter implements Snapshotter {
  abstract readonly name: 'overlay' | 'vfs';
  readonly root: string;
  protected readonly snapshotsDir: string;
  protected readonly stagingDir: string;
  private meta: MetaFile = { version: 1, nextId: 1, snapshots: {} };
  /** Keys being created (reserved, not yet recorded), with their parent. */
  private readonly pending = new Map<string, string | undefined>();
  private lock: Promise<unknown> = Promise.resolve();
  private readonly onCrashPoint: SnapshotterOptions['onCrashPoint'];
  private opened = false;

  protected constructor(options: SnapshotterOptions) {
    this.root = options.root;
    this.snapshotsDir = join(this.root, 'snapshots');
    this.stagingDir = join(this.root, 'staging');
    this.onCrashPoint = options.onCrashPoint;
  }

  // ---- what a driver provides ---------------------------------------------------------------

  /** Build a new snapshot in `dir` (which does not exist yet); `chain` = committed ancestors' ids, nearest first. */
  protected abstract populate(dir: string, kind: 'active' | 'view', chain: number[]): Promise<void>;
  protected abstract mountsOf(id: number, kind: 'active' | 'view', chain: number[]): Mount[];
  protected abstract readonly applyMode: 'overlay' | 'vfs';

  protected fsDir(id: number): string {
    return join(this.snapshotsDir, String(id), 'fs');
  }

  // ---- open and recovery ----------------------------------------------------------------------

  /** Load the metadata and remove whatever a crash left behind. Called once by the factories. */
  async open(): Promise<this> {
    if (this.opened) return this;
    await mkdir(this.snapshotsDir, { recursive: true, mode: 0o700 });
    await mkdir(this.stagingDir, { recursive: true, mode: 0o700 });
    try {
      const parsed = JSON.parse(await readFile(join(this.root, META), 'utf8')) as MetaFile;
      if (parsed.version !== 1 || typeof parsed.snapshots !== 'object' || !Number.isInteger(parsed.nextId)) {
        throw new TsdError('CONFIG_INVALID', `${join(this.root, META)}: unknown metadata format`);
      }
      this.meta = parsed;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    for (const name of await readdir(this.root)) {
      if (name.startsWith(`${META}.tmp-`)) await rm(join(this.root, name), { force: true });
      else if (name.startsWith('overlay-probe-')) await this.removeDir(join(this.root, name));
    }
    const known = new Set(Object.values(this.meta.snapshots).map((r) => String(r.id)));
    const leftovers = [
      ...(await readdir(this.stagingDir)).map((n) => join(this.stagingDir, n)),
      ...(await readdir(this.snapshotsDir)).filter((n) => !known.has(n)).map((n) => join(this.snapshotsDir, n)),
    ];
    for (const dir of leftovers) await this.removeDir(dir);
    let max = 0;
    for (const r of Object.values(this.meta.snapshots)) max = Math.max(max, r.id);
    this.meta.nextId = Math.max(this.meta.nextId, max + 1);
    this.opened = true;
    return this;
  }

  /** Remove a snapshot directory, unless something is mounted in it or from it. */
  private async removeDir(dir: string): Promise<void> {
    const busy = await busyPaths(dir);
    if (busy.length > 0) throw new SnapshotError('busy', dir, `${dir} is in use by mounts: ${busy.join(', ')}`);
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  }

  // ---- locking and metadata -------------------------------------------------------------------

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /** Replace metadata.json atomically with `next`, then adopt it. */
  private async writeMeta(next: MetaFile, key: string): Promise<void> {
    await replaceFileDurably(this.root, META, JSON.stringify(next, null, 1), { beforeRename: () => this.onCrashPoint?.('metadata-temp', key) });
    this.meta = next;
    await this.onCrashPoint?.('metadata-renamed', key);
  }

  private cloneMeta(): MetaFile {
    return { version: 1, nextId: this.meta.nextId, snapshots: { ...this.meta.snapshots } };
  }

  private get(key: string): Rec {
    const rec = this.meta.snapshots[key];
    if (!rec) throw new SnapshotError('not-found', key, `snapshot ${JSON.stringify(key)} does not exist`);
    return rec;
  }

  /** Ids of the committed ancestors of `parent` (itself included), nearest first. */
  private chain(parent: string | undefined): number[] {
    const ids: number[] = [];
    for (let k = parent; k !== undefined; k = this.get(k).parent) ids.push(this.get(k).id);
    return ids;
  }

  private ensureOpen(): void {
    if (!this.opened) throw new Error('snapshotter used before open()');
  }

  // ---- the interface --------------------------------------------------------------------------

  prepare(key: string, parent?: string, opts?: { labels?: Record<string, string> }): Promise<Mount[]> {
    return this.create('active', key, parent, opts?.labels);
  }

  view(key: string, parent?: string): Promise<Mount[]> {
    return this.create('view', key, parent, undefined);
  }

  private async create(kind: 'active' | 'view', key: string, parent: string | undefined, labels: Record<string, string> | undefined): Promise<Mount[]> {
    this.ensureOpen();
    validateKey(key);
    if (parent !== undefined) validateKey(parent, 'parent');
    if (labels !== undefined) {
      for (const [k, v] of Object.entries(labels)) {
        if (typeof k !== 'string' || typeof v !== 'string') throw new SnapshotError('invalid-key', key, 'labels must map strings to strings');
      }
    }
    // Reserve the key and an id, and pin the parent (a pending child blocks its removal).
    const { id, chain } = await this.locked(async () => {
      if (this.meta.snapshots[key] || this.pending.has(key)) throw new SnapshotError('exists', key, `snapshot ${JSON.stringify(key)} already exists`);
      if (parent !== undefined && this.get(parent).kind !== 'committed') {
        throw new SnapshotError('wrong-kind', parent, `parent ${JSON.stringify(parent)} is not committed`);
      }
      const chain = this.chain(parent);
      this.pending.set(key, parent);
      return { id: this.meta.nextId++, chain };
    });
    const staged = join(this.stagingDir, String(id));
    const placed = join(this.snapshotsDir, String(id));
    let recorded = false;
    try {
      await this.populate(staged, kind, chain);
      await this.onCrashPoint?.('staged', key);
      await rename(staged, placed);
      await this.onCrashPoint?.('placed', key);
      await this.locked(async () => {
        const next = this.cloneMeta();
        const rec: Rec = { id, kind, createdAt: new Date().toISOString() };
        if (parent !== undefined) rec.parent = parent;
        if (labels !== undefined && Object.keys(labels).length > 0) rec.labels = { ...labels };
        next.snapshots[key] = rec;
        next.nextId = Math.max(next.nextId, id + 1);
        await this.writeMeta(next, key);
        recorded = true;
      });
    } catch (err) {
      if (!recorded) {
        await rm(staged, { recursive: true, force: true }).catch(() => undefined);
        await rm(placed, { recursive: true, force: true }).catch(() => undefined);
      }
      throw err;
    } finally {
      this.pending.delete(key);
    }
    return this.mountsOf(id, kind, chain);
  }

  async mounts(key: string): Promise<Mount[]> {
    this.ensureOpen();
    validateKey(key);
    const rec = this.get(key);
    if (rec.kind === 'committed') throw new SnapshotError('wrong-kind', key, `snapshot ${JSON.stringify(key)} is committed; prepare or view a child to mount it`);
    return this.mountsOf(rec.id, rec.kind, this.chain(rec.parent));
  }

  async commit(name: string, key: string): Promise<void> {
    this.ensureOpen();
    validateKey(name, 'name');
    validateKey(key);
    await this.locked(async () => {
      const rec = this.get(key);
      if (rec.kind !== 'active') throw new SnapshotError('wrong-kind', key, `snapshot ${JSON.stringify(key)} is ${rec.kind}, not active`);
      if (this.meta.snapshots[name] || this.pending.has(name)) throw new SnapshotError('exists', name, `snapshot ${JSON.stringify(name)} already exists`);
      const next = this.cloneMeta();
      delete next.snapshots[key];
      const committed: Rec = { ...rec, kind: 'committed', createdAt: new Date().toISOString() };
      next.snapshots[name] = committed;
      await this.writeMeta(next, name);
    });
  }

  async remove(key: string): Promise<void> {
    this.ensureOpen();
    validateKey(key);
    await this.locked(async () => {
      const rec = this.get(key);
      const children = Object.entries(this.meta.snapshots).filter(([, r]) => r.parent === key).map(([k]) => k);
      for (const [k, p] of this.pending) if (p === key) children.push(k);
      if (children.length > 0) {
        throw new SnapshotError('has-children', key, `snapshot ${JSON.stringify(key)} has children: ${children.slice(0, 5).join(', ')}${children.length > 5 ? ', ...' : ''}`);
      }
      const dir = join(this.snapshotsDir, String(rec.id));
      const busy = await busyPaths(dir);
      if (busy.length > 0) throw new SnapshotError('busy', key, `snapshot ${JSON.stringify(key)} is in use by mounts: ${busy.join(', ')}`);
      const next = this.cloneMeta();
      delete next.snapshots[key];
      await this.writeMeta(next, key);
      // Unrecorded now: a crash from here on leaves an orphan that open() removes.
      const doomed = join(this.stagingDir, `rm-${rec.id}`);
      await rename(dir, doomed);
      await rm(doomed, { recursive: true, force: true, maxRetries: 3 });
    });
  }

  async stat(key: string): Promise<SnapshotInfo> {
    this.ensureOpen();
    validateKey(key);
    return info(key, this.get(key));
  }

  async *walk(): AsyncIterable<SnapshotInfo> {
    this.ensureOpen();
    const entries = Object.entries(this.meta.snapshots).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    for (const [key, rec] of entries) yield info(key, rec);
  }

  async applyTarget(key: string): Promise<{ dir: string; mode: 'overlay' | 'vfs' }> {
    this.ensureOpen();
    validateKey(key);
    const rec = this.get(key);
    if (rec.kind !== 'active') throw new SnapshotError('wrong-kind', key, `snapshot ${JSON.stringify(key)} is ${rec.kind}; layers are applied to active snapshots`);
    return { dir: this.fsDir(rec.id), mode: this.applyMode };
  }

  async dirOf(key: string): Promise<string> {
    this.ensureOpen();
    validateKey(key);
    return this.fsDir(this.get(key).id);
  }

  async usage(key: string): Promise<Usage> {
    this.ensureOpen();
    validateKey(key);
    return diskUsage(this.fsDir(this.get(key).id));
  }
}

function info(key: string, rec: Rec): SnapshotInfo {
  const out: SnapshotInfo = { key, kind: rec.kind, createdAt: rec.createdAt };
  if (rec.parent !== undefined) out.parent = rec.parent;
  if (rec.labels !== undefined) out.labels = { ...rec.labels };
  return out;
}

/** Allocated bytes and inodes below `dir` (itself included), each inode once. */
export async function diskUsage(dir: string): Promise<Usage> {
  const seen = new Set<bigint>();
  let size = 0n;
  const visit = async (path: string, st: BigIntStats): Promise<void> => {
    if (!seen.has(st.ino)) {
      seen.add(st.ino);
      size += st.blocks * 512n;
    }
    if (!st.isDirectory()) return;
    for (const name of await readdir(path)) {
      const p = join(path, name);
      await visit(p, await lstat(p, { bigint: true }));
    }
  };
  await visit(dir, await lstat(dir, { bigint: true }));
  return { size: Number(size), inodes: seen.size };
}
