import type { Logger } from '../log.js';
import type { PullThroughConfig } from './config.js';
import { UpstreamClient } from './upstream.js';

/** Where a proxied repository comes from: the upstream and the repository's name there. */
export interface Route {
  upstream: UpstreamClient;
  /** The name on the upstream (`owner/repo` for the local `ghcr.io/owner/repo`). */
  remoteName: string;
}

/**
 * Maps local repository names onto upstreams: the longest configured prefix wins; names with no
 * prefix go to the default upstream, or are local (pushable) repositories when there is none.
 */
export class UpstreamRouter {
  readonly upstreams: UpstreamClient[];
  private readonly prefixed: UpstreamClient[];
  private readonly fallback: UpstreamClient | undefined;

  constructor(config: PullThroughConfig, log: Logger) {
    this.upstreams = config.upstreams.map((u) => new UpstreamClient(u, log));
    this.prefixed = this.upstreams.filter((u) => u.config.prefix !== undefined).sort((a, b) => b.config.prefix!.length - a.config.prefix!.length);
    this.fallback = this.upstreams.find((u) => u.config.isDefault);
  }

  route(name: string): Route | undefined {
    for (const upstream of this.prefixed) {
      const prefix = upstream.config.prefix!;
      if (name.startsWith(`${prefix}/`)) return { upstream, remoteName: this.remote(upstream, name.slice(prefix.length + 1)) };
    }
    if (this.fallback) return { upstream: this.fallback, remoteName: this.remote(this.fallback, name) };
    return undefined;
  }

  private remote(upstream: UpstreamClient, path: string): string {
    return upstream.config.dockerHub && !path.includes('/') ? `library/${path}` : path;
  }

  close(): void {
    for (const u of this.upstreams) u.close();
  }
}
