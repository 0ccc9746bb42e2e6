/**
 * Open the stores of a data root and build the EngineContext pull, push and the daemon share.
 * Layout under the data root: content/ (blobs), images/ (the image table), <driver>/ (snapshots).
 */
import { join } from 'node:path';
import type { Digest } from '../../shared/digest.js';
import type { Credentials } from '../client/auth.js';
import { dockerConfigCredentials, type DockerConfigOptions } from '../client/credentials.js';
import { createRegistryClient, type RegistryClient } from '../client/registry-client.js';
import type { TransportOptions } from '../client/transport.js';
import { openSnapshotter, overlaySupported, type Driver } from '../snapshots/index.js';
import { UnpackPool } from '../unpack/pool.js';
import { ContentStore } from './content-store.js';
import type { EngineContext } from './engine-context.js';
import { ImageStore } from './image-store.js';

export interface OpenEngineOptions {
  dataRoot: string;
  /** dockerd's `--storage-driver`: overlay, vfs, or auto (overlay where a probe mount works). */
  storageDriver?: Driver;
  /** dockerd's `--insecure-registry`: hosts spoken to over plain http (loopback always is). */
  insecureRegistries?: string[];
  /** Where the daemon's own registry credentials come from (default: its docker config.json). */
  dockerConfig?: DockerConfigOptions;
  transport?: TransportOptions;
  maxConcurrentDownloads?: number;
  maxConcurrentUploads?: number;
  /** Unpack worker threads (default: min(4, cores)). */
  unpackWorkers?: number;
  /** Is an image used by a container? (prune -a keeps those; the daemon's containers know.) */
  inUse?: (id: Digest) => boolean;
}

export interface Engine extends EngineContext {
  close(): Promise<void>;
}

export async function openEngine(options: OpenEngineOptions): Promise<Engine> {
  const content = await ContentStore.open(options.dataRoot);
  const images = await ImageStore.open(options.dataRoot, { content, ...(options.inUse ? { inUse: options.inUse } : {}) });
  let driver = options.storageDriver ?? 'auto';
  if (driver === 'auto') driver = (await overlaySupported(join(options.dataRoot, 'overlay'))) ? 'overlay' : 'vfs';
  const snapshots = await openSnapshotter({ root: join(options.dataRoot, driver), driver });
  const unpack = new UnpackPool(options.unpackWorkers === undefined ? {} : { size: options.unpackWorkers });
  const own = dockerConfigCredentials(options.dockerConfig);
  const clients = new Map<string, RegistryClient>();
  return {
    dataRoot: options.dataRoot,
    content,
    images,
    snapshots,
    unpack,
    maxConcurrentDownloads: options.maxConcurrentDownloads ?? 3,
    maxConcurrentUploads: options.maxConcurrentUploads ?? 5,
    registry(host: string, credentials?: Credentials): RegistryClient {
      // One client (and so one token cache) per host and identity.
      const key = `${host}\n${credentials ? JSON.stringify(credentials) : ''}`;
      let client = clients.get(key);
      if (!client) {
        client = createRegistryClient(host, {
          insecure: options.insecureRegistries ?? [],
          credentials: credentials ?? own,
          ...(options.transport ? { transport: options.transport } : {}),
        });
        clients.set(key, client);
      }
      return client;
    },
    async close() {
      for (const c of clients.values()) c.close();
      clients.clear();
      await unpack.close();
    },
  };
}
