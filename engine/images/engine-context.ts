/**
 * What pull, push and the daemon share: the stores of one data root, the unpack workers, and how
 * to reach a registry (TLS trust, insecure registries, credentials). Built once by the daemon
 * (engine/daemon) and passed down; tests build their own over a temp data root.
 */
import type { Credentials } from '../client/auth.js';
import type { RegistryClient } from '../client/registry-client.js';
import type { Snapshotter } from '../snapshots/snapshotter.js';
import type { UnpackPool } from '../unpack/pool.js';
import type { ContentStore } from './content-store.js';
import type { ImageStore } from './image-store.js';

export interface EngineContext {
  readonly dataRoot: string;
  readonly content: ContentStore;
  readonly images: ImageStore;
  readonly snapshots: Snapshotter;
  readonly unpack: UnpackPool;
  /**
   * A client for a registry host (`docker.io`, `127.0.0.1:5000`). `credentials` (from the API's
   * X-Registry-Auth) win over the daemon's own (its docker config); plain HTTP only for loopback
   * hosts and the configured insecure registries.
   */
  registry(host: string, credentials?: Credentials): RegistryClient;
  /** dockerd's `--max-concurrent-downloads` (default 3) and `--max-concurrent-uploads` (default 5). */
  readonly maxConcurrentDownloads: number;
  readonly maxConcurrentUploads: number;
}
