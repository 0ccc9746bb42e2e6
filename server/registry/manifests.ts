import { LRUCache } from 'lru-cache';
import type { BlobStore } from '../../shared/blob-store.js';
import { algorithmOf, digestOf, type Digest } from '../../shared/digest.js';
import { TsdError } from '../../shared/errors.js';
import { parseManifest, type Descriptor, type ParsedManifest } from '../../shared/manifest.js';
import { mapLimit } from '../../shared/concurrency.js';
import { MediaTypes } from '../../shared/media-types.js';
import { paths } from '../../shared/paths.js';
import { isTag, type ManifestReference } from '../../shared/reference.js';
import type { RepositoryBlobs } from './blobs.js';
import { deleteIfExists, fileExists, listLinkedDigests, listNames, readLink, writeLink, type ImmutableLinks } from './links.js';

export interface StoredManifest {
  digest: Digest;
  mediaType: string;
  raw: Buffer;
  /** Parsed on demand (referrers, delete); the raw bytes are what is served. */
  parsed?: ParsedManifest;
}

/**
 * Manifests, tags and referrers of repositories. Manifest bytes are immutable blobs, cached by
 * digest; tag and revision links are read from storage on every request, so several processes
 * over one store always agree.
 */
export class RepositoryManifests {
  private readonly byDigest = new LRUCache<string, StoredManifest>({
    maxSize: 64 * 1024 * 1024,
    sizeCalculation: (m) => m.raw.length + 256,
  });

  constructor(
    private readonly store: BlobStore,
    private readonly blobs: RepositoryBlobs,
    private readonly links: ImmutableLinks,
  ) {}

  private get backend() {
    return this.store.backend;
  }

  /** The content of a manifest by digest, regardless of repository (the caller checks membership). */
  /** Manifest-cache statistics, for metrics. */
  readonly cacheStats = { hits: 0, misses: 0 };

  private async content(digest: Digest): Promise<StoredManifest> {
    const cached = this.byDigest.get(digest);
    if (cached) {
      this.cacheStats.hits++;
      return cached;
    }
    this.cacheStats.misses++;
    let raw: Buffer;
    try {
      raw = await this.store.get(digest);
    } catch (err) {
      if (err instanceof TsdError && err.code === 'BLOB_UNKNOWN') throw new TsdError('MANIFEST_UNKNOWN', undefined, { detail: { digest } });
      throw err;
    }
    let parsed: ParsedManifest | undefined;
    try {
      parsed = parseManifest(raw);
    } catch {
      parsed = undefined;
    }
    const stored: StoredManifest = { digest, raw, mediaType: parsed?.mediaType ?? MediaTypes.ociManifest };
    if (parsed) stored.parsed = parsed;
    this.byDigest.set(digest, stored);
    return stored;
  }

  async resolve(name: string, ref: ManifestReference): Promise<Digest> {
    if (ref.kind === 'digest') return ref.digest;
    const digest = await readLink(this.backend, paths.tagCurrentLink(name, ref.tag));
    if (!digest) throw new TsdError('MANIFEST_UNKNOWN', `manifest tagged by "${ref.tag}" is not found`, { detail: { tag: ref.tag } });
    return digest;
  }

  async isRevision(name: string, digest: Digest): Promise<boolean> {
    return this.links.exists(paths.manifestRevisionLink(name, digest));
  }

  async get(name: string, ref: ManifestReference): Promise<StoredManifest> {
    const digest = await this.resolve(name, ref);
    if (!(await this.isRevision(name, digest))) throw new TsdError('MANIFEST_UNKNOWN', undefined, { detail: { digest } });
    return this.content(digest);
  }

  /**
   * Store a manifest exactly as received; tag it when the reference is a tag. `verifyReferences:
   * false` is for content whose blobs arrive later (a pull-through cache storing an upstream manifest).
   */
  async put(name: string, ref: ManifestReference, raw: Buffer, contentType: string | undefined, options: { verifyReferences?: boolean } = {}): Promise<ParsedManifest> {
    const parsed = parseManifest(raw, contentType);
    let digest = parsed.digest;
    if (ref.kind === 'digest') {
      const algorithm = algorithmOf(ref.digest);
      digest = algorithm === 'sha256' ? parsed.digest : digestOf(raw, algorithm);
      if (digest !== ref.digest) {
        throw new TsdError('DIGEST_INVALID', `manifest digest ${digest} does not match ${ref.digest}`, { detail: { digest: ref.digest } });
      }
    }
    const verify = options.verifyReferences !== false;
    if (verify) await this.checkReferences(name, parsed);
    const previousTag = ref.kind === 'tag' ? await readLink(this.backend, paths.tagCurrentLink(name, ref.tag)) : undefined;
    const revisionExisted = await this.isRevision(name, digest);
    await this.store.put(raw, algorithmOf(digest));
    // Order matters for crash safety: content, then revision, then referrer, then the tag.
    await this.links.write(paths.manifestRevisionLink(name, digest), digest);
    if (parsed.subject) await writeLink(this.backend, paths.referrerLink(name, parsed.subject.digest, digest), digest);
    if (ref.kind === 'tag') {
      // current first, as distribution does: a tag directory is listed from its first link on.
      await writeLink(this.backend, paths.tagCurrentLink(name, ref.tag), digest);
      await writeLink(this.backend, paths.tagIndexLink(name, ref.tag, digest), digest);
    }
    // Online garbage collection may have taken a referenced blob away between the check and the
    // writes. Checking again, uncached, after the writes closes that race: either this check sees
    // the blob gone and the push is undone, or the collector's second mark sees this manifest.
    const ownDataGone = !(await fileExists(this.backend, paths.blobData(digest)));
    const missing = verify ? await this.missingData(name, parsed) : [];
    if (ownDataGone || missing.length > 0) {
      await this.undoPut(name, ref, digest, parsed, previousTag, revisionExisted);
      throw new TsdError('MANIFEST_BLOB_UNKNOWN', 'a blob the manifest references was removed while it was being pushed; push the blobs again');
    }
    const stored: StoredManifest = { digest, raw, mediaType: parsed.mediaType, parsed };
    this.byDigest.set(digest, stored);
    return { ...parsed, digest };
  }

  /** References whose data is not in storage right now (no caches). */
  private async missingData(name: string, parsed: ParsedManifest): Promise<Descriptor[]> {
    const present = (path: string) => fileExists(this.backend, path);
    return this.unresolved(
      parsed,
      (d) => present(paths.blobData(d.digest)),
      async (d) => (await present(paths.blobData(d.digest))) && (await present(paths.manifestRevisionLink(name, d.digest))),
    );
  }

  private async undoPut(name: string, ref: ManifestReference, digest: Digest, parsed: ParsedManifest, previousTag: Digest | undefined, revisionExisted: boolean): Promise<void> {
    if (ref.kind === 'tag' && (await readLink(this.backend, paths.tagCurrentLink(name, ref.tag))) === digest) {
      if (previousTag) await writeLink(this.backend, paths.tagCurrentLink(name, ref.tag), previousTag);
      else await deleteIfExists(this.backend, paths.tagDir(name, ref.tag));
    }
    if (!revisionExisted) {
      const revisionDir = paths.manifestRevisionLink(name, digest).slice(0, -'/link'.length);
      await deleteIfExists(this.backend, revisionDir);
      if (parsed.subject) await deleteIfExists(this.backend, paths.referrerLink(name, parsed.subject.digest, digest).slice(0, -'/link'.length));
    }
  }

  private async checkReferences(name: string, parsed: ParsedManifest): Promise<void> {
    const missing = await this.unresolved(parsed, (d) => this.blobs.isLinked(name, d.digest), (d) => this.isRevision(name, d.digest));
    if (missing.length > 0) {
      throw new TsdError('MANIFEST_BLOB_UNKNOWN', `manifest references ${missing.length} unknown blob(s) or manifest(s), e.g. ${missing[0]!.digest}`, {
        detail: { digest: missing[0]!.digest },
      });
    }
  }

  /**
   * The references for which a check fails, each distinct digest checked once and at most 16 at a
   * time (a manifest may list tens of thousands of descriptors). Foreign layers live at their URLs.
   */
  private async unresolved(parsed: ParsedManifest, blobOk: (d: Descriptor) => Promise<boolean>, manifestOk: (d: Descriptor) => Promise<boolean>): Promise<Descriptor[]> {
    const unique = new Map<string, { d: Descriptor; check: (d: Descriptor) => Promise<boolean> }>();
    for (const d of parsed.blobs) if (!(d.urls?.length && d.mediaType.includes('foreign'))) unique.set(d.digest, { d, check: blobOk });
    for (const d of parsed.manifests) unique.set(d.digest, { d, check: manifestOk });
    const results = await mapLimit([...unique.values()], 16, async ({ d, check }) => ((await check(d)) ? undefined : d));
    return results.filter((d): d is Descriptor => d !== undefined);
  }

  /** Delete by digest: the revision, every tag pointing at it, and its referrer entry. */
  async deleteByDigest(name: string, digest: Digest): Promise<void> {
    if (!(await this.isRevision(name, digest))) throw new TsdError('MANIFEST_UNKNOWN', undefined, { detail: { digest } });
    const stored = await this.content(digest).catch(() => undefined);
    for (const tag of (await listNames(this.backend, paths.tagsRoot(name))).filter(isTag)) {
      if ((await readLink(this.backend, paths.tagCurrentLink(name, tag))) === digest) {
        await deleteIfExists(this.backend, paths.tagDir(name, tag));
      }
    }
    const subject = stored?.parsed?.subject;
    if (subject) await deleteIfExists(this.backend, paths.referrerLink(name, subject.digest, digest).slice(0, -'/link'.length));
    const revisionDir = paths.manifestRevisionLink(name, digest).slice(0, -'/link'.length);
    await deleteIfExists(this.backend, revisionDir);
  }

  /** Delete a tag only; the manifest stays reachable by digest. */
  async deleteTag(name: string, tag: string): Promise<void> {
    if (!(await deleteIfExists(this.backend, paths.tagDir(name, tag)))) {
      throw new TsdError('MANIFEST_UNKNOWN', `tag "${tag}" is not found`, { detail: { tag } });
    }
  }

  /**
   * Sorted tags; undefined when the repository does not exist at all. The directory listing is
   * the answer (one read, as distribution does), not a read of every tag's link.
   */
  async tags(name: string): Promise<string[] | undefined> {
    const tags = (await listNames(this.backend, paths.tagsRoot(name))).filter(isTag);
    // A repository exists once a manifest was pushed to it (an upload alone does not make one).
    if (tags.length === 0 && (await listNames(this.backend, `${paths.repository(name)}/_manifests`)).length === 0) return undefined;
    return tags.sort();
  }

  /** Descriptors of the manifests in `name` whose subject is `subject`. */
  async referrers(name: string, subject: Digest): Promise<Descriptor[]> {
    const digests = await listLinkedDigests(this.backend, paths.referrersOf(name, subject));
    const out: Descriptor[] = [];
    for (const digest of digests.sort()) {
      if (!(await this.isRevision(name, digest))) continue;
      const m = await this.content(digest).catch(() => undefined);
      if (!m?.parsed || m.parsed.subject?.digest !== subject) continue;
      const d: Descriptor = { mediaType: m.mediaType, digest, size: m.raw.length };
      if (m.parsed.artifactType !== undefined) d.artifactType = m.parsed.artifactType;
      if (m.parsed.annotations) d.annotations = m.parsed.annotations;
      out.push(d);
    }
    return out;
  }
}
