import type { Readable, Writable } from 'node:stream';

/**
 * A storage backend moves bytes under `/`-separated relative paths and knows nothing of digests
 * (distribution's storage driver model). Missing paths raise `TsdError('NOT_FOUND')`.
 */
export interface StorageBackend {
  readonly name: string;
  /** Whole small file. */
  getContent(path: string): Promise<Buffer>;
  /** Replace a small file atomically: readers see the old bytes or the new, never a mix. */
  putContent(path: string, data: Uint8Array): Promise<void>;
  /** Stream from `offset` for `length` bytes (to the end when absent). */
  reader(path: string, options?: { offset?: number; length?: number; signal?: AbortSignal }): Promise<Readable>;
  /** A writer that creates (or, with `append`, continues) a file. */
  writer(path: string, options?: { append?: boolean }): Promise<FileWriter>;
  stat(path: string): Promise<FileInfo>;
  /** Full paths of the direct children of a directory. */
  list(path: string): Promise<string[]>;
  /** Every file (not directory) below `path`, recursively, in no particular order; nothing if it is missing. */
  walk(path: string): AsyncIterable<FileInfo>;
  /**
   * Rename, replacing `to` atomically if it exists. `durable: false` skips making the rename itself
   * survive a power loss (for moves that are recoverable either way, like the collector's trash).
   */
  move(from: string, to: string, options?: { durable?: boolean }): Promise<void>;
  /** Remove a file or a whole directory tree. */
  delete(path: string): Promise<void>;
  /**
   * Optional fast path: write bytes straight into `destination` (a socket), by whatever means is
   * cheapest for the medium. Raises NOT_FOUND before writing anything when the path is missing.
   */
  copyTo?(path: string, destination: Writable, options?: { offset?: number; length?: number }): Promise<void>;
  /** A URL the client may be redirected to for the bytes, when the backend supports it. */
  redirectURL?(path: string, method: 'GET' | 'HEAD'): Promise<string | undefined>;
  /**
   * Remove what interrupted writes left (a kill between staging and rename) older than
   * `maxAgeMs`; returns the backend paths removed (or that would be, with dryRun).
   */
  sweepTemporaries?(maxAgeMs: number, options?: { dryRun?: boolean }): Promise<string[]>;
}

export interface FileInfo {
  path: string;
  size: number;
  modifiedAt: Date;
  isDir: boolean;
}

export interface FileWriter {
  /** Bytes in the file so far, including what was there before an append. */
  readonly size: number;
  write(chunk: Uint8Array): Promise<void>;
  /** Flush and make durable; the file stays at its path. */
  commit(): Promise<void>;
  /** Flush and release without the durability promise (an upload paused between requests). */
  close(): Promise<void>;
  /** Abandon: the file is removed. */
  cancel(): Promise<void>;
  /** Undo this writer's bytes: the file is left as it was before the writer opened it. */
  abandon(): Promise<void>;
}
