/**
 * The engine's local content store: the same `BlobStore` as the registry's, over a
 * `FilesystemBackend` rooted at `<data-root>/content`. This file adds only what the engine needs
 * around it: ingesting a stream under an expected digest (write + verified commit), listing the
 * blobs, and short "holds" that keep blobs from being deleted while a pull or load still needs
 * them. Who uses a blob is not stored: the image store computes it from its records.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { BlobStore, type BlobInfo } from '../../shared/blob-store.js';
import { digestOf, isDigest, type Digest } from '../../shared/digest.js';
import { blobsRoot, paths } from '../../shared/paths.js';
import { FilesystemBackend } from '../../storage-backends/filesystem.js';

/** Where partial ingests live, relative to the content root. Removed whole on open. */
const ingestRoot = 'ingest';

export interface IngestResult extends BlobInfo {
  /** The blob was already there: nothing was read. */
  existed: boolean;
}

export class ContentStore {
  readonly blobs: BlobStore;
  readonly root: string;
  private readonly holds = new Map<Digest, number>();

  private constructor(root: string) {
    this.root = root;
    this.blobs = new BlobStore(new FilesystemBackend(root));
  }

  /** Open (creating if needed) the content store of a data root; leftovers of crashed ingests are removed. */
  static async open(dataRoot: string): Promise<ContentStore> {
    const root = join(dataRoot, 'content');
    await rm(join(root, ingestRoot), { recursive: true, force: true });
    return new ContentStore(root);
  }

  has(digest: Digest): Promise<boolean> {
    return this.blobs.exists(digest);
  }

  stat(digest: Digest): Promise<BlobInfo> {
    return this.blobs.stat(digest);
  }

  open(digest: Digest, options: { offset?: number; length?: number; signal?: AbortSignal } = {}): Promise<Readable> {
    return this.blobs.open(digest, options);
  }

  /** The file a stored blob's bytes live in (read-only use: unpack workers read it directly). */
  pathOf(digest: Digest): string {
    return join(this.root, paths.blobData(digest));
  }

  get(digest: Digest): Promise<Buffer> {
    return this.blobs.get(digest);
  }

  /**
   * Store the content an opener yields under `expected`; it is visible only after its digest (and
   * size, when given) are verified. The opener is not called when the blob is already stored.
   * On a mismatch nothing is stored and DIGEST_INVALID / SIZE_INVALID is raised.
   */
  async ingest(
    expected: { digest: Digest; size?: number },
    opener: () => AsyncIterable<Uint8Array> | Promise<AsyncIterable<Uint8Array>>,
  ): Promise<IngestResult> {
    if (await this.has(expected.digest)) {
      const info = await this.stat(expected.digest);
      if (expected.size === undefined || info.size === expected.size) return { ...info, existed: true };
    }
    const writer = await this.blobs.writer(`${ingestRoot}/${randomBytes(12).toString('hex')}`);
    try {
      const source = await opener();
      await writer.writeAll(source, expected.size ?? Number.POSITIVE_INFINITY);
    } catch (err) {
      await writer.cancel().catch(() => {});
      throw err;
    }
    const info = await writer.commit(expected);
    return { ...info, existed: false };
  }

  /** Store bytes in hand (a synthesised manifest); the digest is computed here. */
  async put(data: Buffer): Promise<IngestResult> {
    const existed = await this.blobs.exists(digestOf(data));
    const info = await this.blobs.put(data);
    return { ...info, existed };
  }

  /** Every stored blob's digest. */
  async *list(): AsyncIterable<Digest> {
    for await (const info of this.blobs.backend.walk(blobsRoot)) {
      // docker/registry/v2/blobs/<alg>/<xx>/<hex>/data
      const parts = info.path.split('/');
      if (parts.length < 4 || parts[parts.length - 1] !== 'data') continue;
      const d = `${parts[parts.length - 4]}:${parts[parts.length - 2]}`;
      if (isDigest(d)) yield d;
    }
  }

  /** Keep blobs from deletion until the returned function is called (a pull or a load in flight). */
  hold(digests: Iterable<Digest>): () => void {
    const held = [...digests];
    for (const d of held) this.holds.set(d, (this.holds.get(d) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const d of held) {
        const n = (this.holds.get(d) ?? 1) - 1;
        if (n <= 0) this.holds.delete(d);
        else this.holds.set(d, n);
      }
    };
  }

  isHeld(digest: Digest): boolean {
    return this.holds.has(digest);
  }

  /** Remove a blob if it is not held; returns the bytes freed (0 when absent or held). */
  async remove(digest: Digest): Promise<number> {
    if (this.isHeld(digest)) return 0;
    let size: number;
    try {
      size = (await this.stat(digest)).size;
      await this.blobs.delete(digest);
    } catch {
      return 0;
    }
    return size;
  }
}
