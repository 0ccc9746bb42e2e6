import { randomUUID } from 'node:crypto';
import type { BlobInfo, BlobStore, BlobWriter } from '../../shared/blob-store.js';
import type { Digest } from '../../shared/digest.js';
import { TsdError, isNotFound } from '../../shared/errors.js';
import { paths } from '../../shared/paths.js';
import type { RepositoryBlobs } from './blobs.js';
import { deleteIfExists } from './links.js';

export interface UploadStatus {
  id: string;
  /** Bytes received so far. */
  size: number;
}

/** An inclusive byte range from a Content-Range header. */
export interface ChunkRange {
  start: number;
  end: number;
}

type Body = AsyncIterable<Uint8Array>;

/**
 * Upload sessions in distribution's layout (`_uploads/<uuid>/{data,startedat}`). Requests on one
 * session are serialised in this process; the data file is the state, so a session survives a
 * restart and can continue on another replica.
 */
export class UploadSessions {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: BlobStore,
    private readonly blobs: RepositoryBlobs,
  ) {}

  private get backend() {
    return this.store.backend;
  }

  private async exclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => {});
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }

  /** A session is its `startedat`; the data file appears with the first bytes (one write less per upload). */
  async create(name: string): Promise<UploadStatus> {
    const id = randomUUID();
    await this.backend.putContent(paths.uploadStartedAt(name, id), Buffer.from(new Date().toISOString()));
    return { id, size: 0 };
  }

  async status(name: string, id: string): Promise<UploadStatus> {
    try {
      const info = await this.backend.stat(paths.uploadData(name, id));
      return { id, size: info.size };
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    try {
      await this.backend.stat(paths.uploadStartedAt(name, id));
      return { id, size: 0 };
    } catch (err) {
      if (isNotFound(err)) throw new TsdError('BLOB_UPLOAD_UNKNOWN', undefined, { detail: { uuid: id } });
      throw err;
    }
  }

  private async resume(name: string, id: string, range?: ChunkRange, length?: number): Promise<BlobWriter> {
    const { size } = await this.status(name, id);
    if (range) {
      if (range.start !== size || range.end < range.start) {
        throw new TsdError('RANGE_INVALID', `chunk starts at ${range.start}, upload has ${size} bytes`, {
          headers: { Range: `0-${Math.max(size - 1, 0)}`, 'Docker-Upload-UUID': id },
        });
      }
      if (length !== undefined && range.end - range.start + 1 !== length) {
        throw new TsdError('RANGE_INVALID', 'Content-Range does not match Content-Length', {
          headers: { Range: `0-${Math.max(size - 1, 0)}`, 'Docker-Upload-UUID': id },
        });
      }
    }
    return this.store.writer(paths.uploadData(name, id), { append: true });
  }

  /**
   * Write a request body into an upload. A body whose size disagrees with its Content-Range or
   * Content-Length is undone (the session stays as it was); a dropped connection keeps what
   * arrived, so the client can ask for the Range and resume.
   */
  private async receive(name: string, id: string, writer: BlobWriter, body: Body, range: ChunkRange | undefined, length: number | undefined): Promise<void> {
    const before = writer.size;
    const expected = range ? range.end - range.start + 1 : length;
    try {
      const written = await writer.writeAll(body, expected ?? Number.POSITIVE_INFINITY);
      if (expected !== undefined && written !== expected) throw new TsdError('SIZE_INVALID', `received ${written} bytes, expected ${expected}`);
    } catch (err) {
      if (!(err instanceof TsdError && err.code === 'SIZE_INVALID')) {
        await writer.pause();
        throw err;
      }
      await writer.abandon();
      throw new TsdError(range ? 'RANGE_INVALID' : 'SIZE_INVALID', `${err.message}; the chunk was not stored`, {
        headers: { Range: `0-${Math.max(before - 1, 0)}`, 'Docker-Upload-UUID': id },
        detail: { name, expected },
      });
    }
  }

  /** PATCH: append a chunk. */
  async append(name: string, id: string, body: Body, range?: ChunkRange, length?: number): Promise<UploadStatus> {
    return this.exclusive(`${name}/${id}`, async () => {
      const writer = await this.resume(name, id, range, length);
      await this.receive(name, id, writer, body, range, length);
      await writer.pause();
      return { id, size: writer.size };
    });
  }

  /** PUT: the optional last chunk, then verify and publish under `digest`, link, and end the session. */
  async finish(name: string, id: string, digest: Digest, body: Body | undefined, range?: ChunkRange, length?: number): Promise<BlobInfo> {
    return this.exclusive(`${name}/${id}`, async () => {
      const writer = await this.resume(name, id, range, length);
      if (body) await this.receive(name, id, writer, body, range, length);
      let info: BlobInfo;
      try {
        info = await writer.commit({ digest });
      } catch (err) {
        // A failed verification ends the session (as distribution does): nothing of it remains.
        await deleteIfExists(this.backend, paths.uploadDir(name, id));
        throw err;
      }
      await this.blobs.link(name, info.digest);
      await deleteIfExists(this.backend, paths.uploadDir(name, id));
      return info;
    });
  }

  /** POST with `digest` and a body: a whole blob in one request. */
  async monolithic(name: string, digest: Digest, body: Body, length?: number): Promise<BlobInfo> {
    const { id } = await this.create(name);
    return this.finish(name, id, digest, body, undefined, length);
  }

  async cancel(name: string, id: string): Promise<void> {
    await this.exclusive(`${name}/${id}`, async () => {
      if (!(await deleteIfExists(this.backend, paths.uploadDir(name, id)))) {
        throw new TsdError('BLOB_UPLOAD_UNKNOWN', undefined, { detail: { uuid: id } });
      }
    });
  }
}
