import type { BlobStore } from '../../shared/blob-store.js';
import { isDigest, type Digest } from '../../shared/digest.js';
import { TsdError, isTsdError } from '../../shared/errors.js';
import { maxManifestBytes } from '../../shared/manifest.js';
import { baseMediaType, manifestMediaTypes } from '../../shared/media-types.js';
import type { ManifestReference } from '../../shared/reference.js';
import type { Logger } from '../log.js';
import type { RepositoryBlobs } from '../registry/blobs.js';
import type { ImmutableLinks } from '../registry/links.js';
import { RepositoryManifests, type StoredManifest } from '../registry/manifests.js';
import { scopeOf } from './blobs.js';
import type { Route, UpstreamRouter } from './router.js';
import type { PullThroughStats } from './stats.js';
import type { TagStateStore } from './tag-state.js';
import { UpstreamError, discardBody, failureOf, readAll } from './upstream.js';

/** What we ask upstreams for: every manifest type we can store (no schema 1). */
export const upstreamAccept = [...manifestMediaTypes.keys()].join(', ');

/**
 * Repository manifests with a pull-through read path for proxied repositories. By digest: fetched
 * once, then served locally forever. By tag: served locally while the last upstream check is
 * younger than the upstream's ttl; after that a HEAD upstream revalidates it (same digest: keep;
 * other digest: fetch and store the new manifest). When the upstream fails, a cached tag is served
 * stale with a warning; only when nothing is cached does the client see the upstream's failure.
 */
export class ProxiedManifests extends RepositoryManifests {
  /** One upstream exchange per tag (or digest) at a time; everyone asking meanwhile shares it. */
  private readonly flights = new Map<string, Promise<StoredManifest>>();

  constructor(
    store: BlobStore,
    blobs: RepositoryBlobs,
    links: ImmutableLinks,
    private readonly router: UpstreamRouter,
    private readonly tagStates: TagStateStore,
    private readonly stats: PullThroughStats,
    private readonly log: Logger,
  ) {
    super(store, blobs, links);
  }

  private single(key: string, fn: () => Promise<StoredManifest>): Promise<StoredManifest> {
    const running = this.flights.get(key);
    if (running) return running;
    const flight = fn().finally(() => this.flights.delete(key));
    this.flights.set(key, flight);
    return flight;
  }

  private async local(name: string, ref: ManifestReference): Promise<StoredManifest | undefined> {
    try {
      return await super.get(name, ref);
    } catch (err) {
      if (isTsdError(err, 'MANIFEST_UNKNOWN')) return undefined;
      throw err;
    }
  }

  override async get(name: string, ref: ManifestReference): Promise<StoredManifest> {
    const route = this.router.route(name);
    if (!route) return super.get(name, ref);
    if (ref.kind === 'digest') {
      const cached = await this.local(name, ref);
      if (cached) {
        this.stats.hit('manifest');
        return cached;
      }
      return this.single(`${name}@${ref.digest}`, () => this.fetchByDigest(route, name, ref.digest));
    }
    const ttl = route.upstream.config.ttlMs;
    const cached = await this.local(name, ref);
    if (cached && ttl > 0) {
      const state = await this.tagStates.get(name, ref.tag, ttl);
      if (state && state.digest === cached.digest && Date.now() - state.checkedAt < ttl) {
        this.stats.hit('manifest');
        return cached;
      }
    }
    return this.single(`${name}:${ref.tag}`, () => this.revalidate(route, name, ref.tag));
  }

  private manifestPath(route: Route, ref: string): string {
    return `/v2/${route.remoteName}/manifests/${ref}`;
  }

  /** GET a manifest upstream: the exact bytes and the Content-Type (when it names a manifest type). */
  private async fetchManifest(route: Route, ref: string): Promise<{ raw: Buffer; contentType: string | undefined; digestHeader: string | undefined } | undefined> {
    this.stats.upstreamFetches++;
    const res = await route.upstream.request('GET', this.manifestPath(route, ref), { scope: scopeOf(route), accept: upstreamAccept });
    if (res.status === 404) {
      discardBody(res.body);
      return undefined;
    }
    if (res.status !== 200) throw failureOf(res, `GET ${route.remoteName} manifest ${ref}`);
    const raw = await readAll(res.body, maxManifestBytes);
    const type = baseMediaType(res.headers['content-type']);
    const contentType = type !== undefined && manifestMediaTypes.has(type) ? type : undefined;
    const digestHeader = res.headers['docker-content-digest'] as string | undefined;
    return { raw, contentType, digestHeader };
  }

  /** Store what the upstream sent under `ref`; its blobs come later, when clients ask for them. */
  private async storeUpstream(name: string, ref: ManifestReference, got: { raw: Buffer; contentType: string | undefined; digestHeader: string | undefined }): Promise<StoredManifest> {
    let parsed;
    try {
      parsed = await this.put(name, ref, got.raw, got.contentType, { verifyReferences: false });
    } catch (err) {
      if (isTsdError(err)) throw new UpstreamError('unavailable', `upstream sent an unusable manifest: ${err.message}`);
      throw err;
    }
    if (got.digestHeader && isDigest(got.digestHeader) && got.digestHeader.startsWith('sha256:') && got.digestHeader !== parsed.digest) {
      this.log.warn({ name, header: got.digestHeader, digest: parsed.digest }, 'pull-through: upstream Docker-Content-Digest differs from its bytes');
    }
    return { digest: parsed.digest, mediaType: parsed.mediaType, raw: got.raw, parsed };
  }

  private async fetchByDigest(route: Route, name: string, digest: Digest): Promise<StoredManifest> {
    try {
      const got = await this.fetchManifest(route, digest);
      if (!got) throw new TsdError('MANIFEST_UNKNOWN', undefined, { detail: { digest } });
      const stored = await this.storeUpstream(name, { kind: 'digest', digest }, got);
      this.stats.miss('manifest');
      return stored;
    } catch (err) {
      if (err instanceof UpstreamError) {
        this.stats.upstreamErrors++;
        this.log.warn({ name, digest, err: err.message }, 'pull-through: upstream failed and the manifest is not cached');
        throw err.toTsdError();
      }
      throw err;
    }
  }

  private async revalidate(route: Route, name: string, tag: string): Promise<StoredManifest> {
    const cached = await this.local(name, { kind: 'tag', tag });
    try {
      if (cached) {
        this.stats.upstreamRevalidations++;
        const head = await route.upstream.request('HEAD', this.manifestPath(route, tag), { scope: scopeOf(route), accept: upstreamAccept });
        discardBody(head.body);
        if (head.status === 404) return this.gone(name, tag);
        if (head.status !== 200) throw failureOf(head, `HEAD ${route.remoteName} manifest ${tag}`);
        if (head.headers['docker-content-digest'] === cached.digest) {
          await this.tagStates.set(name, tag, { digest: cached.digest, checkedAt: Date.now() });
          this.stats.hit('manifest');
          return cached;
        }
      }
      const got = await this.fetchManifest(route, tag);
      if (!got) return this.gone(name, tag);
      const stored = await this.storeUpstream(name, { kind: 'tag', tag }, got);
      await this.tagStates.set(name, tag, { digest: stored.digest, checkedAt: Date.now() });
      this.stats.miss('manifest');
      if (cached && cached.digest !== stored.digest) this.log.info({ name, tag, from: cached.digest, to: stored.digest }, 'pull-through: tag moved upstream');
      return stored;
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      this.stats.upstreamErrors++;
      if (cached) {
        this.stats.staleServed++;
        this.log.warn({ name, tag, digest: cached.digest, err: err.message }, 'pull-through: upstream failed, serving the cached tag');
        return cached;
      }
      this.log.warn({ name, tag, err: err.message }, 'pull-through: upstream failed and the tag is not cached');
      throw err.toTsdError();
    }
  }

  /**
   * The upstream says the tag does not exist. The cached copy is kept (it is served again if the
   * upstream later fails), but not served while the upstream is authoritative.
   */
  private async gone(name: string, tag: string): Promise<never> {
    await this.tagStates.delete(name, tag);
    throw new TsdError('MANIFEST_UNKNOWN', `manifest tagged by "${tag}" is not found upstream`, { detail: { tag } });
  }

  /** The upstream's tag list when it answers, else the tags cached here. */
  override async tags(name: string): Promise<string[] | undefined> {
    const route = this.router.route(name);
    if (!route) return super.tags(name);
    try {
      const upstream = await this.upstreamTags(route);
      if (upstream) return upstream;
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      this.stats.upstreamErrors++;
      this.log.warn({ name, err: err.message }, 'pull-through: upstream tag list failed, listing cached tags');
    }
    return super.tags(name);
  }

  private async upstreamTags(route: Route): Promise<string[] | undefined> {
    const all = new Set<string>();
    let path: string | undefined = `/v2/${route.remoteName}/tags/list`;
    for (let page = 0; path !== undefined && page < 100; page++) {
      const res = await route.upstream.request('GET', path, { scope: scopeOf(route), accept: 'application/json' });
      if (res.status === 404) {
        discardBody(res.body);
        return page === 0 ? undefined : [...all].sort();
      }
      if (res.status !== 200) throw failureOf(res, `GET ${route.remoteName} tags`);
      const link = res.headers.link;
      let doc: { tags?: unknown };
      try {
        doc = JSON.parse((await readAll(res.body, 16 * 1024 * 1024)).toString('utf8')) as { tags?: unknown };
      } catch (err) {
        if (err instanceof UpstreamError) throw err;
        throw new UpstreamError('unavailable', 'upstream tag list is not JSON');
      }
      if (Array.isArray(doc.tags)) for (const t of doc.tags) if (typeof t === 'string') all.add(t);
      const next = typeof link === 'string' ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link)?.[1] : undefined;
      path = undefined;
      if (next) {
        const u = new URL(next, route.upstream.config.remoteURL);
        if (u.origin === route.upstream.config.remoteURL.origin) {
          const basePath = route.upstream.config.remoteURL.pathname.replace(/\/+$/, '');
          path = (u.pathname.startsWith(`${basePath}/`) ? u.pathname.slice(basePath.length) : u.pathname) + u.search;
        }
      }
    }
    return [...all].sort();
  }
}
