import { BlobStore } from '../../shared/blob-store.js';
import type { StorageBackend } from '../../shared/storage-backend.js';
import { RepositoryBlobs } from './blobs.js';
import { listRepositories } from './catalog.js';
import { ImmutableLinks } from './links.js';
import { RepositoryManifests } from './manifests.js';
import { UploadSessions } from './uploads.js';

/**
 * The registry's storage services over one backend: what the HTTP handlers call. `blobs` and
 * `manifests` may be replaced by decorators of the same classes (the pull-through cache does).
 */
export class Registry {
  readonly store: BlobStore;
  readonly links: ImmutableLinks;
  blobs: RepositoryBlobs;
  readonly uploads: UploadSessions;
  manifests: RepositoryManifests;

  constructor(readonly backend: StorageBackend) {
    this.store = new BlobStore(backend);
    const links = new ImmutableLinks(backend);
    this.links = links;
    this.blobs = new RepositoryBlobs(this.store, links);
    this.uploads = new UploadSessions(this.store, this.blobs);
    this.manifests = new RepositoryManifests(this.store, this.blobs, links);
  }

  /** Repositories with manifests (the catalog), or with `all`, also those with only layers or uploads. */
  repositories(options: { all?: boolean } = {}): Promise<string[]> {
    return listRepositories(this.backend, options.all ? ['_manifests', '_layers', '_uploads'] : ['_manifests']);
  }
}
