import { createHash, type Hash } from 'node:crypto';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LRUCache } from 'lru-cache';
import { algorithmOf, digestOf, type Algorithm, type Digest } from './digest.js';
import { TsdError, isNotFound } from './errors.js';
import { paths } from './paths.js';
import type { FileWriter, StorageBackend } from './storage-backend.js';

export interface BlobInfo {
  digest: Digest;
  size: number;
}

/**
 * The one content-addressed store, and the only place that hashes. Content is written under an
 * ingest path (an upload's data file) and becomes visible under its digest path only through
 * `commit`, after its digest and size are verified, by a single atomic move.
 */
export class BlobStore {
  /** Hash states of paused writers (between PATCH requests), so resuming need not re-read the data. */
  private readonly pausedHashes = new LRUCache<string, { hash: Hash; size: number }>({ max: 1024 });

  constructor(readonly backend: StorageBackend) {}

  /**
   * Always asked of storage: blobs are immutable, but garbage collection (perhaps in another
   * process) removes them, and correctness must not depend on a cache.
   */
  async stat(digest: Digest): Promise<BlobInfo> {
    try {
      const info = await this.backend.stat(paths.blobData(digest));
      if (info.isDir) throw new TsdError('BLOB_UNKNOWN', undefined, { detail: { digest } });
      return { digest, size: info.size };
    } catch (err) {
      if (isNotFound(err)) throw new TsdError('BLOB_UNKNOWN', undefined, { detail: { digest } });
      throw err;
    }
  }

  async exists(digest: Digest): Promise<boolean> {
    return this.stat(digest).then(
      () => true,
      (err) => (err instanceof TsdError && err.code === 'BLOB_UNKNOWN' ? false : Promise.reject(err)),
    );
  }

  async open(digest: Digest, options: { offset?: number; length?: number; signal?: AbortSignal } = {}): Promise<Readable> {
    try {
      return await this.backend.reader(paths.blobData(digest), options);
    } catch (err) {
      if (isNotFound(err)) throw new TsdError('BLOB_UNKNOWN', undefined, { detail: { digest } });
      throw err;
    }
  }

  /** Write a blob (or a range of it) into `destination`, through the backend's fast path when it has one. */
  async copyTo(digest: Digest, destination: Writable, range?: { offset: number; length: number }): Promise<void> {
    if (this.backend.copyTo) {
      try {
        await this.backend.copyTo(paths.blobData(digest), destination, range ?? {});
      } catch (err) {
        if (isNotFound(err)) throw new TsdError('BLOB_UNKNOWN', undefined, { detail: { digest } });
        throw err;
      }
      return;
    }
    await pipeline(await this.open(digest, range ?? {}), destination);
  }

  async get(digest: Digest): Promise<Buffer> {
    try {
      return await this.backend.getContent(paths.blobData(digest));
    } catch (err) {
      if (isNotFound(err)) throw new TsdError('BLOB_UNKNOWN', undefined, { detail: { digest } });
      throw err;
    }
  }

  /** Store small content whose bytes are in hand (manifests); the digest is computed here. */
  async put(data: Buffer, algorithm: Algorithm = 'sha256'): Promise<BlobInfo> {
    const digest = digestOf(data, algorithm);
    // Checked in storage, not the size cache: garbage collection may have just removed it.
    const stored = await this.backend.stat(paths.blobData(digest)).then((i) => i.size === data.length, () => false);
    if (!stored) await this.backend.putContent(paths.blobData(digest), data);
    return { digest, size: data.length };
  }

  async redirectURL(digest: Digest, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    return this.backend.redirectURL?.(paths.blobData(digest), method);
  }

  /** Remove a blob's data (garbage collection only: repositories unlink, they never delete data). */
  async delete(digest: Digest): Promise<void> {
    try {
      await this.backend.delete(paths.blobDir(digest));
    } catch (err) {
      if (isNotFound(err)) throw new TsdError('BLOB_UNKNOWN', undefined, { detail: { digest } });
      throw err;
    }
  }

  /**
   * A writer for content being ingested at `ingestPath` (a new file, or with `append` the
   * continuation of an earlier one).
   */
  async writer(ingestPath: string, options: { append?: boolean } = {}): Promise<BlobWriter> {
    const file = await this.backend.writer(ingestPath, options);
    let state: { hash: Hash; size: number } | undefined;
    if (options.append) {
      const paused = this.pausedHashes.get(ingestPath);
      this.pausedHashes.delete(ingestPath);
      if (paused && paused.size === file.size) state = paused;
    } else {
      this.pausedHashes.delete(ingestPath);
    }
    state ??= file.size === 0 ? { hash: createHash('sha256'), size: 0 } : undefined;
    // A copy of the starting hash state, so that an abandoned append can put it back.
    const initial = state && { hash: state.hash.copy(), size: state.size };
    return new BlobWriter(this, ingestPath, file, state, initial);
  }

  /** @internal */
  rememberPausedHash(ingestPath: string, hash: Hash, size: number): void {
    this.pausedHashes.set(ingestPath, { hash, size });
  }

  /** @internal Hash an ingest file from the start (a resumed upload whose state was lost, or a sha512 commit). */
  async rehash(ingestPath: string, algorithm: Algorithm): Promise<{ digest: Digest; size: number }> {
    const hash = createHash(algorithm);
    let size = 0;
    for await (const chunk of await this.backend.reader(ingestPath)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    return { digest: `${algorithm}:${hash.digest('hex')}` as Digest, size };
  }

  /** @internal */
  async publish(ingestPath: string, info: BlobInfo): Promise<void> {
    // Storage, not the size cache: another process (garbage collection) may have removed it.
    if (await this.backend.stat(paths.blobData(info.digest)).then((i) => i.size === info.size, () => false)) {
      await this.backend.delete(ingestPath).catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
    } else {
      await this.backend.move(ingestPath, paths.blobData(info.digest));
    }
  }
}

/**
 * Writes content and commits it under an expected digest. A writer is used by one request at a
 * time; `pause` keeps the partial content (and the hash state) for a later request to continue.
 */
export class BlobWriter {
  private done = false;

  constructor(
    private readonly store: BlobStore,
    readonly ingestPath: string,
    private readonly file: FileWriter,
    /** Running sha256 over everything in the file, when known. */
    private state: { hash: Hash; size: number } | undefined,
    private readonly initial?: { hash: Hash; size: number },
  ) {}

  get size(): number {
    return this.file.size;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.done) throw new Error('BlobWriter: write after end');
    this.state?.hash.update(chunk);
    if (this.state) this.state.size += chunk.length;
    await this.file.write(chunk);
  }

  /** Write everything a source yields (a request body), stopping early if `limit` bytes would be exceeded. */
  async writeAll(source: AsyncIterable<Uint8Array>, limit = Number.POSITIVE_INFINITY): Promise<number> {
    let written = 0;
    // Iterated by hand: leaving a for-await early would destroy a request stream, and with it the
    // connection the error answer must go out on.
    const chunks = source[Symbol.asyncIterator]();
    for (let next = await chunks.next(); !next.done; next = await chunks.next()) {
      written += next.value.length;
      if (written > limit) throw new TsdError('SIZE_INVALID', `content exceeds ${limit} bytes`);
      await this.write(next.value);
    }
    return written;
  }

  /** Keep what was written so far for a later request; the hash state is remembered in memory. */
  async pause(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.file.close();
    if (this.state) this.store.rememberPausedHash(this.ingestPath, this.state.hash, this.state.size);
  }

  /** Undo what this writer wrote; earlier content (and its remembered hash state) stays. */
  async abandon(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.file.abandon();
    if (this.initial) this.store.rememberPausedHash(this.ingestPath, this.initial.hash, this.initial.size);
  }

  /** Drop the content. */
  async cancel(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.file.cancel();
  }

  /**
   * Verify the content against `expected` and publish it under its digest. On a mismatch the
   * ingest data is removed and DIGEST_INVALID / SIZE_INVALID raised: nothing becomes visible.
   */
  async commit(expected: { digest: Digest; size?: number }): Promise<BlobInfo> {
    if (this.done) throw new Error('BlobWriter: commit after end');
    this.done = true;
    try {
      await this.file.commit();
    } catch (err) {
      await this.file.cancel().catch(() => {});
      throw err;
    }
    const algorithm = algorithmOf(expected.digest);
    let actual: { digest: Digest; size: number };
    if (this.state && algorithm === 'sha256') {
      actual = { digest: `sha256:${this.state.hash.digest('hex')}` as Digest, size: this.state.size };
    } else {
      actual = await this.store.rehash(this.ingestPath, algorithm);
    }
    const removeIngest = () => this.store.backend.delete(this.ingestPath).catch(() => {});
    if (expected.size !== undefined && expected.size !== actual.size) {
      await removeIngest();
      throw new TsdError('SIZE_INVALID', `content is ${actual.size} bytes, expected ${expected.size}`);
    }
    if (actual.digest !== expected.digest) {
      await removeIngest();
      throw new TsdError('DIGEST_INVALID', `content digest ${actual.digest} does not match ${expected.digest}`, {
        detail: { expected: expected.digest, actual: actual.digest },
      });
    }
    await this.store.publish(this.ingestPath, actual);
    return actual;
  }
}
