/**
 * Snapshotters, containerd's model: a snapshot is a filesystem state named by a key. `prepare`
 * makes a writable (active) snapshot on top of a committed parent, `view` a read-only one,
 * `commit` turns an active snapshot into a committed one under a new name (which can then be a
 * parent). Snapshotters never mount: they return the mounts to make (mount.ts does that).
 */
import { TsdError, type ErrorCode } from '../../shared/errors.js';

export interface Mount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

export type SnapshotKind = 'active' | 'view' | 'committed';

export interface SnapshotInfo {
  key: string;
  parent?: string;
  kind: SnapshotKind;
  createdAt: string;
  labels?: Record<string, string>;
}

export interface Usage {
  /** Bytes allocated on disk (st_blocks * 512), each inode counted once. */
  size: number;
  inodes: number;
}

export interface Snapshotter {
  readonly name: 'overlay' | 'vfs';
  /** A writable snapshot on top of the committed `parent` (or empty). */
  prepare(key: string, parent?: string, opts?: { labels?: Record<string, string> }): Promise<Mount[]>;
  /** A read-only snapshot of the committed `parent` (or empty). */
  view(key: string, parent?: string): Promise<Mount[]>;
  /** The mounts of an active snapshot or a view (a committed snapshot cannot be mounted). */
  mounts(key: string): Promise<Mount[]>;
  /** active -> committed under `name`; `key` is gone afterwards. */
  commit(name: string, key: string): Promise<void>;
  /** Refuses (SnapshotError 'has-children') while other snapshots have it as their parent. */
  remove(key: string): Promise<void>;
  stat(key: string): Promise<SnapshotInfo>;
  walk(): AsyncIterable<SnapshotInfo>;
  /** Where a layer is applied for an active snapshot, and how (overlay: the upper dir, written with overlay whiteouts; vfs: the full copy). */
  applyTarget(key: string): Promise<{ dir: string; mode: 'overlay' | 'vfs' }>;
  /** overlay: the snapshot's own upper dir; vfs: its whole copy. */
  usage(key: string): Promise<Usage>;
  /**
   * The directory holding a snapshot's own files, whatever its kind, for reading only (overlay:
   * its layer, the upper dir; vfs: its whole tree). Lets diff and commit read a committed parent
   * without a view (a vfs view is a full copy).
   */
  dirOf?(key: string): Promise<string>;
}

export type SnapshotErrorReason = 'not-found' | 'exists' | 'invalid-key' | 'has-children' | 'wrong-kind' | 'busy';

const codes: Record<SnapshotErrorReason, ErrorCode> = {
  'not-found': 'NOT_FOUND',
  exists: 'ALREADY_EXISTS',
  'invalid-key': 'INVALID_ARGUMENT',
  'has-children': 'DENIED',
  'wrong-kind': 'INVALID_ARGUMENT',
  busy: 'UNAVAILABLE',
};

/** A snapshotter error: a TsdError (code from the shared table) with a precise `reason`. */
export class SnapshotError extends TsdError {
  readonly reason: SnapshotErrorReason;
  readonly key: string;
  constructor(reason: SnapshotErrorReason, key: string, message: string, options?: { cause?: unknown }) {
    super(codes[reason], message, { ...options, detail: { reason, key } });
    this.name = 'SnapshotError';
    this.reason = reason;
    this.key = key;
  }
}

export function isSnapshotError(err: unknown, reason?: SnapshotErrorReason): err is SnapshotError {
  return err instanceof SnapshotError && (reason === undefined || err.reason === reason);
}

/**
 * Keys and names never become paths (snapshot directories are numbered), so this is about
 * sanity, not confinement: 1-512 printable ASCII characters without spaces or backslashes, no
 * empty, `.` or `..` segments between slashes (chain ids `sha256:...` and containerd-style
 * `ns/1/sha256:...` are fine).
 */
export function validateKey(key: unknown, what = 'key'): string {
  const ok = typeof key === 'string'
    && key.length > 0
    && key.length <= 512
    && /^[\x21-\x7e]+$/.test(key)
    && !key.includes('\\')
    && key.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
  if (!ok) throw new SnapshotError('invalid-key', String(key), `invalid snapshot ${what}: ${JSON.stringify(key)}`);
  return key as string;
}
