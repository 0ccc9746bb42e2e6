import type { Writable } from 'node:stream';
import type { BlobInfo, BlobStore } from '../../shared/blob-store.js';
import type { Digest } from '../../shared/digest.js';
import { TsdError } from '../../shared/errors.js';
import { paths } from '../../shared/paths.js';
import { deleteIfExists, type ImmutableLinks } from './links.js';

/**
 * Blobs as a repository sees them: a blob is in a repository when the repository links it
 * (`_layers/<alg>/<hex>/link`) and the store has its data. Repositories link and unlink; only
 * garbage collection deletes data.
 */
export class RepositoryBlobs {
  constructor(
    private readonly store: BlobStore,
    private readonly links: ImmutableLinks,
  ) {}

  private get backend() {
    return this.store.backend;
  }

  async isLinked(name: string, digest: Digest): Promise<boolean> {
    return this.links.exists(paths.layerLink(name, digest));
  }

  async stat(name: string, digest: Digest): Promise<BlobInfo> {
    if (!(await this.isLinked(name, digest))) throw new TsdError('BLOB_UNKNOWN', undefined, { detail: { digest } });
    return this.store.stat(digest);
  }

  /** Write a blob of `name` into `destination` (a response); the caller has checked membership with `stat`. */
  async copyTo(name: string, digest: Digest, destination: Writable, range?: { offset: number; length: number }): Promise<void> {
    return this.store.copyTo(digest, destination, range);
  }

  async link(name: string, digest: Digest): Promise<void> {
    await this.links.write(paths.layerLink(name, digest), digest);
  }

  async unlink(name: string, digest: Digest): Promise<void> {
    const layerDir = paths.layerLink(name, digest).slice(0, -'/link'.length);
    if (!(await deleteIfExists(this.backend, layerDir))) throw new TsdError('BLOB_UNKNOWN', undefined, { detail: { digest } });
  }

  /**
   * Cross-repository mount: link a blob another repository has (or, without `from`, any blob the
   * store has). Returns undefined when there is nothing to mount.
   */
  async mount(name: string, digest: Digest, from: string | undefined): Promise<BlobInfo | undefined> {
    let info: BlobInfo;
    try {
      info = from !== undefined ? await this.stat(from, digest) : await this.store.stat(digest);
    } catch (err) {
      if (err instanceof TsdError && err.code === 'BLOB_UNKNOWN') return undefined;
      throw err;
    }
    await this.link(name, digest);
    return info;
  }

  redirectURL(name: string, digest: Digest, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    return this.store.redirectURL(digest, method);
  }
}
