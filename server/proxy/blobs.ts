import type { Writable } from 'node:stream';
import type { BlobInfo, BlobStore } from '../../shared/blob-store.js';
import type { Digest } from '../../shared/digest.js';
import { TsdError, isTsdError } from '../../shared/errors.js';
import type { Logger } from '../log.js';
import { RepositoryBlobs } from '../registry/blobs.js';
import type { ImmutableLinks } from '../registry/links.js';
import { BlobFetch, type BlobFetchOptions } from './blob-fetch.js';
import type { Route, UpstreamRouter } from './router.js';
import type { PullThroughStats } from './stats.js';
import { UpstreamError, discardBody, failureOf } from './upstream.js';

/**
 * Repository blobs with a pull-through read path for proxied repositories: a blob not linked here
 * is fetched from the upstream once (single-flight per repository and digest), streamed to every
 * client asking meanwhile, stored, and linked. Blobs are immutable, so once stored they are served
 * locally until garbage collection. Writes (link, unlink, mount) are the base class's.
 */
export class ProxiedBlobs extends RepositoryBlobs {
  private readonly flights = new Map<string, BlobFetch>();

  constructor(
    private readonly blobStore: BlobStore,
    links: ImmutableLinks,
    private readonly router: UpstreamRouter,
    private readonly stats: PullThroughStats,
    private readonly log: Logger,
    private readonly fetchOptions: BlobFetchOptions = { replayWindowBytes: 16 * 1024 * 1024, maxBufferedPerClient: 8 * 1024 * 1024 },
  ) {
    super(blobStore, links);
  }

  private key(name: string, digest: Digest): string {
    return `${name}@${digest}`;
  }

  override async stat(name: string, digest: Digest): Promise<BlobInfo> {
    const route = this.router.route(name);
    if (!route) return super.stat(name, digest);
    const flight = this.flights.get(this.key(name, digest));
    if (flight) return this.sizeOf(flight, digest).catch((err: unknown) => Promise.reject(this.clientError(err, name, digest)));
    try {
      const info = await super.stat(name, digest);
      this.stats.hit('blob');
      return info;
    } catch (err) {
      if (!isTsdError(err, 'BLOB_UNKNOWN')) throw err;
    }
    try {
      if (await this.blobStore.exists(digest)) return await this.linkExisting(route, name, digest);
      // Checked again after the awaits above: requests arriving together share one download.
      const running = this.flights.get(this.key(name, digest));
      return await this.sizeOf(running ?? this.start(route, name, digest), digest);
    } catch (err) {
      throw this.clientError(err, name, digest);
    }
  }

  /** The size to announce: the upstream's Content-Length, or (without one) after the whole download. */
  private async sizeOf(flight: BlobFetch, digest: Digest): Promise<BlobInfo> {
    const size = await flight.size;
    if (size !== undefined) return { digest, size };
    return flight.done;
  }

  /**
   * The store has the content (another repository pulled it): link it here once the upstream
   * confirms this repository has it, so content is never shared across repositories on a guess.
   */
  private async linkExisting(route: Route, name: string, digest: Digest): Promise<BlobInfo> {
    const res = await route.upstream.request('HEAD', `/v2/${route.remoteName}/blobs/${digest}`, { scope: scopeOf(route), followRedirects: true }).catch((err: unknown) => {
      this.stats.upstreamErrors++;
      throw err;
    });
    if (res.status === 404) {
      discardBody(res.body);
      throw new TsdError('BLOB_UNKNOWN', undefined, { detail: { digest } });
    }
    if (res.status !== 200) {
      this.stats.upstreamErrors++;
      throw failureOf(res, `HEAD ${route.remoteName} blob`);
    }
    discardBody(res.body);
    await this.link(name, digest);
    this.stats.hit('blob');
    return this.blobStore.stat(digest);
  }

  private start(route: Route, name: string, digest: Digest): BlobFetch {
    const key = this.key(name, digest);
    this.stats.miss('blob');
    this.log.info({ name, upstream: route.upstream.config.remoteURL.origin, remote: route.remoteName, digest }, 'pull-through: fetching blob');
    const open = async () => {
      this.stats.upstreamFetches++;
      const res = await route.upstream.request('GET', `/v2/${route.remoteName}/blobs/${digest}`, { scope: scopeOf(route), followRedirects: true });
      if (res.status === 404) {
        discardBody(res.body);
        throw new TsdError('BLOB_UNKNOWN', undefined, { detail: { digest } });
      }
      if (res.status !== 200) throw failureOf(res, `GET ${route.remoteName} blob`);
      return res;
    };
    const flight = new BlobFetch(this.blobStore, name, digest, open, () => this.link(name, digest), this.fetchOptions);
    this.flights.set(key, flight);
    flight.done.then(
      (info) => {
        this.stats.bytesFetched += info.size;
        this.log.info({ name, digest, size: info.size }, 'pull-through: blob stored');
      },
      (err: unknown) => {
        if (!isTsdError(err, 'BLOB_UNKNOWN')) {
          this.stats.upstreamErrors++;
          this.log.warn({ name, digest, err: (err as Error).message }, 'pull-through: blob fetch failed');
        }
      },
    ).finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    return flight;
  }

  private clientError(err: unknown, name: string, digest: Digest): unknown {
    if (err instanceof UpstreamError) {
      this.log.debug({ name, digest, err: err.message }, 'pull-through: upstream failed and the blob is not cached');
      return err.toTsdError();
    }
    return err;
  }

  override async copyTo(name: string, digest: Digest, destination: Writable, range?: { offset: number; length: number }): Promise<void> {
    const flight = this.flights.get(this.key(name, digest));
    if (!flight) return super.copyTo(name, digest, destination, range);
    try {
      await flight.attach(destination, range);
    } catch (err) {
      throw err instanceof UpstreamError ? err.toTsdError() : err;
    }
  }

  /** A blob still on its way from the upstream is never redirected to storage. */
  override async redirectURL(name: string, digest: Digest, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    if (this.flights.has(this.key(name, digest))) return undefined;
    return super.redirectURL(name, digest, method);
  }

  /** Stop every download in progress (shutdown). */
  abortAll(): void {
    for (const f of this.flights.values()) f.abort();
  }
}

export function scopeOf(route: Route): string {
  return `repository:${route.remoteName}:pull`;
}
