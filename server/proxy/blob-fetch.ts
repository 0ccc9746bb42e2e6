import { randomUUID } from 'node:crypto';
import type { Writable } from 'node:stream';
import type { BlobInfo, BlobStore, BlobWriter } from '../../shared/blob-store.js';
import type { Digest } from '../../shared/digest.js';
import { TsdError } from '../../shared/errors.js';
import { paths } from '../../shared/paths.js';
import type { UpstreamResponse } from './upstream.js';

export interface BlobFetchOptions {
  /** Bytes of the start of the blob kept in memory so requests that join late still stream along. */
  replayWindowBytes: number;
  /** A client whose socket buffers more than this falls behind and continues from storage later. */
  maxBufferedPerClient: number;
}

interface Subscriber {
  dest: Writable;
  /** Bytes handed to `dest` so far. */
  sent: number;
  /** Streaming along; false: waiting for the commit, then the rest comes from storage. */
  live: boolean;
  settle(err?: unknown): void;
}

function clientGone(): Error {
  return Object.assign(new Error('client went away'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

/**
 * One upstream download of one blob, independent of the clients that asked for it: the body is
 * written to an ingest file (`_uploads/<uuid>/data`, so a crash leaves what looks like a stale
 * upload) and, as it arrives, to every client attached. The blob is committed under the expected
 * digest (the BlobStore verifies) and linked into the repository before the last chunk is released
 * to clients, so a corrupt upstream body never reaches a client whole and never gets stored.
 * A client that goes away changes nothing for the others or for the cache.
 */
export class BlobFetch {
  /** Resolves with the upstream Content-Length (undefined when it sent none) once headers are in. */
  readonly size: Promise<number | undefined>;
  /** Resolves once the blob is committed and linked; rejects when the fetch failed. */
  readonly done: Promise<BlobInfo>;
  private state: 'running' | 'done' | 'failed' = 'running';
  private failure: unknown;
  private readonly subscribers = new Set<Subscriber>();
  /** Released chunks from the start, while they fit the replay window. */
  private window: Buffer[] | undefined = [];
  private windowBytes = 0;
  private releasedBytes = 0;
  /** The newest chunk: released only when the next one arrives or after verification. */
  private held: Buffer | undefined;
  private body: UpstreamResponse['body'] | undefined;
  private aborted = false;
  /** Bytes received from the upstream (for metrics). */
  received = 0;

  constructor(
    private readonly store: BlobStore,
    private readonly name: string,
    private readonly digest: Digest,
    private readonly open: () => Promise<UpstreamResponse>,
    private readonly link: () => Promise<void>,
    private readonly options: BlobFetchOptions,
  ) {
    let sized!: (n: number | undefined) => void;
    let unsized!: (err: unknown) => void;
    this.size = new Promise((resolve, reject) => {
      sized = resolve;
      unsized = reject;
    });
    this.done = this.run(sized).catch((err: unknown) => {
      // Synchronously with the failure, so no client can attach in between and wait forever.
      this.state = 'failed';
      this.failure = err;
      unsized(err);
      const subscribers = [...this.subscribers];
      this.subscribers.clear();
      this.window = undefined;
      for (const s of subscribers) s.settle(err);
      throw err;
    });
    this.size.catch(() => {});
    this.done.catch(() => {});
  }

  /** Stop the download (shutdown); attached clients fail. */
  abort(): void {
    this.aborted = true;
    this.body?.destroy(new TsdError('UNAVAILABLE', 'registry shutting down'));
  }

  private async run(sized: (n: number | undefined) => void): Promise<BlobInfo> {
    const res = await this.open();
    this.body = res.body;
    if (this.aborted) res.body.destroy();
    const header = res.headers['content-length'];
    const length = header !== undefined && /^\d{1,16}$/.test(header) ? Number(header) : undefined;
    const id = randomUUID();
    const backend = this.store.backend;
    let writer: BlobWriter | undefined;
    try {
      await backend.putContent(paths.uploadStartedAt(this.name, id), Buffer.from(new Date().toISOString()));
      writer = await this.store.writer(paths.uploadData(this.name, id));
      sized(length);
      for await (const chunk of res.body) {
        const buf = chunk as Buffer;
        this.received += buf.length;
        if (length !== undefined && this.received > length) throw new TsdError('SIZE_INVALID', `upstream sent more than its Content-Length of ${length}`);
        if (this.held) this.release(this.held);
        this.held = buf;
        await writer.write(buf);
      }
      if (length !== undefined && this.received !== length) throw new TsdError('SIZE_INVALID', `upstream sent ${this.received} of ${length} bytes`);
      const w = writer;
      writer = undefined;
      const info = await w.commit({ digest: this.digest, size: this.received });
      await this.link();
      await backend.delete(paths.uploadDir(this.name, id)).catch(() => {});
      if (this.held) this.release(this.held);
      this.held = undefined;
      this.window = undefined;
      this.state = 'done';
      const subscribers = [...this.subscribers];
      this.subscribers.clear();
      for (const s of subscribers) void this.finish(s, info);
      return info;
    } catch (err) {
      res.body.destroy();
      await writer?.cancel().catch(() => {});
      await backend.delete(paths.uploadDir(this.name, id)).catch(() => {});
      throw err;
    }
  }

  /** Hand a chunk to every live client (and keep it for late joiners while the window lasts). */
  private release(chunk: Buffer): void {
    this.releasedBytes += chunk.length;
    if (this.window) {
      this.window.push(chunk);
      this.windowBytes += chunk.length;
      if (this.windowBytes > this.options.replayWindowBytes) {
        this.window = undefined;
        this.windowBytes = 0;
      }
    }
    for (const s of this.subscribers) if (s.live) this.send(s, chunk);
  }

  private send(s: Subscriber, chunk: Buffer): void {
    if (s.dest.destroyed) return;
    s.dest.write(chunk);
    s.sent += chunk.length;
    // A slow client must not hold the download back: it continues from storage after the commit.
    if (s.dest.writableLength > this.options.maxBufferedPerClient) s.live = false;
  }

  /** After the commit: live clients are complete; those that fell behind get the rest from storage. */
  private async finish(s: Subscriber, info: BlobInfo): Promise<void> {
    if (s.sent >= info.size) {
      s.settle();
      return;
    }
    try {
      await this.store.copyTo(this.digest, s.dest, { offset: s.sent, length: info.size - s.sent });
      s.settle();
    } catch (err) {
      s.settle(err);
    }
  }

  /**
   * Write the blob (or `range` of it) into `dest`: along with the download when the start of it is
   * still in memory, otherwise from storage once it is committed.
   */
  async attach(dest: Writable, range?: { offset: number; length: number }): Promise<void> {
    if (this.state === 'failed') throw this.failure;
    if (range || this.state === 'done') {
      const info = await this.done;
      await this.store.copyTo(this.digest, dest, range ?? { offset: 0, length: info.size });
      return;
    }
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      const s: Subscriber = {
        dest,
        sent: 0,
        live: this.window !== undefined,
        settle: (err?: unknown) => {
          if (settled) return;
          settled = true;
          dest.off('close', onClose);
          this.subscribers.delete(s);
          if (err) reject(err);
          else resolve();
        },
      };
      const onClose = () => {
        if (!dest.writableFinished) s.settle(clientGone());
      };
      dest.on('close', onClose);
      this.subscribers.add(s);
      if (s.live) for (const chunk of this.window!) this.send(s, chunk);
    });
  }
}
