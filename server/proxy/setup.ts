import type { Logger } from '../log.js';
import type { Registry } from '../registry/registry.js';
import { ProxiedBlobs } from './blobs.js';
import { parsePullThroughConfig } from './config.js';
import { ProxiedManifests } from './manifests.js';
import { UpstreamRouter } from './router.js';
import { PullThroughStats } from './stats.js';
import { TagStateStore } from './tag-state.js';

/**
 * The running cache: its counters (hits, misses, upstreamFetches, upstreamErrors, ...) are plain
 * fields of this object.
 */
export interface PullThrough extends PullThroughStats {
  /** Repositories served from an upstream: they refuse pushes and deletes (HandlerOptions.readOnlyRepository). */
  readOnlyRepository(name: string): boolean;
  /** Stop downloads in progress and close upstream connections. */
  close(): Promise<void>;
}

/**
 * Turn `registry` into a pull-through cache for the repositories `proxyConfig` maps onto upstreams
 * (the `proxy:` section of the configuration): its `blobs` and `manifests` are replaced by
 * subclasses whose read paths fetch from the upstream on a miss. Other repositories are untouched.
 */
export function enablePullThrough(registry: Registry, proxyConfig: unknown, log: Logger): PullThrough {
  const config = parsePullThroughConfig(proxyConfig);
  const router = new UpstreamRouter(config, log);
  const stats = new PullThroughStats();
  const blobs = new ProxiedBlobs(registry.store, registry.links, router, stats, log);
  registry.blobs = blobs;
  registry.manifests = new ProxiedManifests(registry.store, blobs, registry.links, router, new TagStateStore(registry.backend), stats, log);
  for (const u of config.upstreams) {
    log.info(
      { upstream: u.remoteURL.origin + u.remoteURL.pathname, prefix: u.prefix, default: u.isDefault, ttlMs: u.ttlMs, auth: u.username ? 'credentials' : 'anonymous' },
      'pull-through cache enabled',
    );
  }
  return Object.assign(stats, {
    readOnlyRepository: (name: string) => router.route(name) !== undefined,
    close: async () => {
      blobs.abortAll();
      router.close();
    },
  });
}
