/**
 * The engine's image store: image records keyed by ID (the config digest), tags and repo digests,
 * docker's lookup rules (ID, ID prefix, name:tag, name@digest) and docker's `rmi` / `prune`
 * semantics. The whole table is one JSON document, `<data-root>/images/images.json`, replaced
 * atomically (temp file + fsync + rename + directory fsync) on every change, so a crash at any
 * moment leaves the old table or the new one, and a tag can never point at a missing record.
 *
 * Blobs live in the content store; a record is added only once its blobs are there, and blobs are
 * removed only after the record that used them is gone and no other record (or hold) uses them.
 * A crash between the two leaves unreferenced blobs, never a record with missing blobs;
 * `unreferencedBlobs()` finds them.
 */
import { mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../../shared/digest.js';
import { TsdError, isNotFound } from '../../shared/errors.js';
import { familiarName, formatImageReference, parseImageReference, type ImageReference } from '../../shared/reference.js';
import { replaceFileDurably } from '../sys/durable-file.js';
import { ContentStore } from './content-store.js';
import { blobsOfRecord, describeImage, type ImageRecord, type NewImage } from './record.js';
import type { Platform } from '../../shared/manifest.js';
import { historyView, inspectView, readConfig, summary, type HistoryEntry, type ImageInspect, type ImageSummary } from './views.js';

const stateFile = 'images.json';
const stateVersion = 1;
/** Shortest ID prefix accepted (docker accepts any unique prefix; very short ones are mostly typos). */
export const minIdPrefix = 4;

interface State {
  images: Map<Digest, ImageRecord>;
}

export type DeleteItem = { Untagged: string } | { Deleted: string };

export interface ResolvedImage {
  image: ImageRecord;
  /** How the input named it: by ID (full or prefix), by a tag, or by a repo digest. */
  via: 'id' | 'tag' | 'digest';
  /** The canonical reference matched, for tag and digest. */
  reference?: string;
}

export interface ImageStoreOptions {
  /** Is a container using this image? (such an image is not removed unless forced) */
  inUse?: (id: Digest) => boolean;
  /** Clock for created / tag times (tests). */
  now?: () => Date;
}

/** Canonical `domain/repo:tag` of a tag reference, refusing digests. */
export function canonicalTag(input: string): string {
  const ref = parseImageReference(input);
  if (ref.digest) throw new TsdError('INVALID_ARGUMENT', `refusing to create a tag with a digest reference: ${input}`);
  return formatImageReference({ domain: ref.domain, repository: ref.repository, tag: ref.tag! });
}

/** Canonical `domain/repo@digest`. */
export function canonicalDigestRef(name: string, digest: Digest): string {
  const ref = parseImageReference(name);
  return formatImageReference({ domain: ref.domain, repository: ref.repository, digest });
}

/** `debian:latest` / `localhost:5000/a@sha256:...`: docker's familiar form of a canonical reference. */
export function familiar(canonical: string): string {
  const ref = parseImageReference(canonical);
  return `${familiarName(ref)}${ref.tag !== undefined && !ref.digest ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

function repoOf(canonical: string): string {
  const ref = parseImageReference(canonical);
  return `${ref.domain}/${ref.repository}`;
}

function shortId(id: Digest): string {
  return id.slice('sha256:'.length, 'sha256:'.length + 12);
}

function clone(state: State): State {
  return { images: new Map([...state.images].map(([k, v]) => [k, structuredClone(v)])) };
}

export class ImageStore {
  private state: State = { images: new Map() };
  /** Mutations run one at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly dir: string;

  private constructor(
    readonly dataRoot: string,
    readonly content: ContentStore,
    private readonly options: ImageStoreOptions,
  ) {
    this.dir = join(dataRoot, 'images');
  }

  static async open(dataRoot: string, options: ImageStoreOptions & { content?: ContentStore } = {}): Promise<ImageStore> {
    const content = options.content ?? (await ContentStore.open(dataRoot));
    const store = new ImageStore(dataRoot, content, options);
    await mkdir(store.dir, { recursive: true });
    for (const name of await readdir(store.dir)) if (name.startsWith(`${stateFile}.tmp-`)) await rm(join(store.dir, name), { force: true });
    store.state = await store.readState();
    return store;
  }

  private async readState(): Promise<State> {
    let raw: string;
    try {
      raw = await readFile(join(this.dir, stateFile), 'utf8');
    } catch (err) {
      if (isNotFound(err)) return { images: new Map() };
      throw err;
    }
    let doc: { version?: unknown; images?: unknown };
    try {
      doc = JSON.parse(raw) as typeof doc;
    } catch (err) {
      throw new TsdError('CONFIG_INVALID', `${join(this.dir, stateFile)} is not valid JSON`, { cause: err });
    }
    if (doc.version !== stateVersion || !Array.isArray(doc.images)) {
      throw new TsdError('CONFIG_INVALID', `${join(this.dir, stateFile)}: unknown version ${String(doc.version)}`);
    }
    return { images: new Map((doc.images as ImageRecord[]).map((r) => [r.id, r])) };
  }

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /** Run `change` on a copy of the state; persist it; only then make it the current state. */
  private mutate<T>(change: (draft: State) => T | Promise<T>): Promise<T> {
    const run = async () => {
      const draft = clone(this.state);
      const result = await change(draft);
      const images = [...draft.images.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
      await replaceFileDurably(this.dir, stateFile, `${JSON.stringify({ version: stateVersion, images }, null, 1)}\n`);
      this.state = draft;
      return result;
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }

  // ---- lookups -------------------------------------------------------------------------------

  get(id: Digest): ImageRecord | undefined {
    const r = this.state.images.get(id);
    return r && structuredClone(r);
  }

  all(): ImageRecord[] {
    return [...this.state.images.values()].map((r) => structuredClone(r));
  }

  /** Resolve what a user typed, as docker: full ID, then a name (tag or digest), then a unique ID prefix. */
  resolve(input: string): ResolvedImage {
    const found = resolveIn(this.state, input);
    return { ...found, image: structuredClone(found.image) };
  }

  /** Image IDs whose records use a blob (config, layer, manifest or index). */
  usersOf(digest: Digest): Digest[] {
    return [...this.state.images.values()].filter((r) => blobsOfRecord(r).includes(digest)).map((r) => r.id);
  }

  refCount(digest: Digest): number {
    return this.usersOf(digest).length;
  }

  referencedBlobs(): Set<Digest> {
    return referencedIn(this.state);
  }

  /** Blobs in the content store no record uses (left by a crash between a record change and a blob delete, or by an abandoned pull). */
  async unreferencedBlobs(): Promise<Digest[]> {
    const used = this.referencedBlobs();
    const out: Digest[] = [];
    for await (const d of this.content.list()) if (!used.has(d)) out.push(d);
    return out;
  }

  // ---- docker views --------------------------------------------------------------------------

  /** `GET /images/json` entries, newest first; `dangling` keeps only images with no references. */
  async list(options: { dangling?: boolean } = {}): Promise<ImageSummary[]> {
    let records = this.all();
    if (options.dangling !== undefined) records = records.filter((r) => (r.repoTags.length + r.repoDigests.length === 0) === options.dangling);
    const out: ImageSummary[] = [];
    for (const r of records) out.push(summary(r, await readConfig(this.content, r).catch(() => undefined)));
    return out.sort((a, b) => b.Created - a.Created || (a.Id < b.Id ? -1 : 1));
  }

  /** `GET /images/{name}/json`. */
  async inspect(reference: string): Promise<ImageInspect> {
    const { image } = this.resolve(reference);
    return inspectView(image, await readConfig(this.content, image));
  }

  /** `GET /images/{name}/history`. */
  async history(reference: string): Promise<HistoryEntry[]> {
    const { image } = this.resolve(reference);
    return historyView(image, await readConfig(this.content, image));
  }

  // ---- changes -------------------------------------------------------------------------------

  /**
   * Record images whose blobs are all in the content store, with their tags and repo digests, in
   * one atomic change. A tag already on another image moves (that image may become dangling).
   * An image whose ID is already known is updated (target, layers) and its references merged.
   */
  async addImages(entries: Array<{ image: NewImage; tags?: string[]; repoDigests?: string[] }>): Promise<ImageRecord[]> {
    for (const { image } of entries) {
      for (const d of blobsOfRecord(image)) {
        if (!(await this.content.has(d))) throw new TsdError('BLOB_UNKNOWN', `image ${image.id}: blob ${d} is not in the content store`, { detail: { digest: d } });
      }
      if (image.diffIds.length !== image.layers.length) throw new TsdError('MANIFEST_INVALID', `image ${image.id}: ${image.layers.length} layers but ${image.diffIds.length} DiffIDs`);
      if (image.config.digest !== image.id) throw new TsdError('INVALID_ARGUMENT', `image ID ${image.id} is not its config digest ${image.config.digest}`);
    }
    const normalised = entries.map((e) => ({
      image: e.image,
      tags: (e.tags ?? []).map(canonicalTag),
      repoDigests: (e.repoDigests ?? []).map((r) => {
        const ref = parseImageReference(r);
        if (!ref.digest) throw new TsdError('INVALID_ARGUMENT', `repo digest ${r} has no digest`);
        return formatImageReference({ domain: ref.domain, repository: ref.repository, digest: ref.digest });
      }),
    }));
    return this.mutate((draft) => {
      const now = this.now().toISOString();
      const out: ImageRecord[] = [];
      for (const { image, tags, repoDigests } of normalised) {
        const existing = draft.images.get(image.id);
        const record: ImageRecord = {
          ...image,
          repoTags: existing?.repoTags ?? [],
          repoDigests: existing?.repoDigests ?? [],
          created: image.created ?? existing?.created ?? now,
          size: image.size ?? image.layers.reduce((n, l) => n + l.size, 0),
        };
        if (existing?.lastTagTime) record.lastTagTime = existing.lastTagTime;
        draft.images.set(image.id, record);
        for (const t of tags) moveTag(draft, t, record, now);
        for (const d of repoDigests) {
          for (const other of draft.images.values()) if (other !== record) other.repoDigests = other.repoDigests.filter((x) => x !== d);
          if (!record.repoDigests.includes(d)) record.repoDigests.push(d);
        }
        out.push(record);
      }
      return out.map((r) => structuredClone(r));
    });
  }

  /** Describe a target already in the content store (after a pull) and record it. */
  async addFromContent(
    target: { digest: Digest; mediaType?: string },
    options: { tags?: string[]; repoDigests?: string[]; platform?: Platform; size?: number } = {},
  ): Promise<ImageRecord> {
    const image = await describeImage((d) => this.content.get(d), target, options.platform ? { platform: options.platform } : {});
    if (options.size !== undefined) image.size = options.size;
    const [record] = await this.addImages([{ image, tags: options.tags ?? [], repoDigests: options.repoDigests ?? [] }]);
    return record!;
  }

  /**
   * Record `name@digest` on an image after a push (moved off any other image, as addImages does).
   * Returns false, changing nothing, when the image is gone (removed while it was being pushed).
   */
  async addRepoDigest(id: Digest, reference: string): Promise<boolean> {
    const ref = parseImageReference(reference);
    if (!ref.digest) throw new TsdError('INVALID_ARGUMENT', `repo digest ${reference} has no digest`);
    const canonical = formatImageReference({ domain: ref.domain, repository: ref.repository, digest: ref.digest });
    return this.mutate((draft) => {
      const record = draft.images.get(id);
      if (!record) return false;
      for (const other of draft.images.values()) if (other !== record) other.repoDigests = other.repoDigests.filter((x) => x !== canonical);
      if (!record.repoDigests.includes(canonical)) record.repoDigests.push(canonical);
      return true;
    });
  }

  /** `docker tag SOURCE TARGET`. */
  async tag(source: string, target: string): Promise<ImageRecord> {
    const canonical = canonicalTag(target);
    return this.mutate((draft) => {
      const { image } = resolveIn(draft, source);
      moveTag(draft, canonical, image, this.now().toISOString());
      return structuredClone(image);
    });
  }

  /** Remove one tag or repo digest reference (never the image). */
  async untag(reference: string): Promise<DeleteItem[]> {
    return this.mutate((draft) => {
      const found = resolveIn(draft, reference);
      if (found.via === 'id') throw new TsdError('INVALID_ARGUMENT', `${reference} is an image ID, not a reference`);
      return removeReference(found.image, found.reference!, found.via);
    });
  }

  /**
   * `docker rmi`: by a name, untag it, and remove the image when that was its last reference; by
   * ID, remove the image, with `force` needed when it has references in several repositories (or
   * is in use). Blobs no remaining image uses are deleted from the content store.
   */
  async remove(reference: string, options: { force?: boolean } = {}): Promise<DeleteItem[]> {
    const force = options.force ?? false;
    const { items, removed } = await this.mutate((draft) => {
      const found = resolveIn(draft, reference);
      const image = found.image;
      const items: DeleteItem[] = [];
      const inUse = this.options.inUse?.(image.id) ?? false;
      if (found.via !== 'id') {
        items.push(...removeReference(image, found.reference!, found.via));
        if (image.repoTags.length + image.repoDigests.length > 0) return { items, removed: undefined };
        // The last reference is gone; an image a container uses stays, untagged (docker's soft conflict).
        if (inUse) return { items, removed: undefined };
      } else {
        const refs = [...image.repoTags, ...image.repoDigests];
        const single = image.repoTags.length <= 1 && new Set(refs.map(repoOf)).size <= 1;
        if (inUse && !force) {
          throw new TsdError('ALREADY_EXISTS', `conflict: unable to delete ${shortId(image.id)} (must be forced) - image is being used by a container`, {
            detail: { reason: 'conflict', id: image.id },
          });
        }
        if (!single && !force) {
          throw new TsdError('ALREADY_EXISTS', `conflict: unable to delete ${shortId(image.id)} (must be forced) - image is referenced in multiple repositories`, {
            detail: { reason: 'conflict', id: image.id },
          });
        }
        for (const t of image.repoTags) items.push({ Untagged: familiar(t) });
        for (const d of image.repoDigests) items.push({ Untagged: familiar(d) });
        image.repoTags = [];
        image.repoDigests = [];
      }
      draft.images.delete(image.id);
      items.push({ Deleted: image.id });
      return { items, removed: image };
    });
    if (removed) await this.releaseBlobs([removed]);
    return items;
  }

  /** `docker image prune`: dangling images (no tags, no repo digests), or with `all` every image no container uses. */
  async prune(options: { all?: boolean } = {}): Promise<{ ImagesDeleted: DeleteItem[]; SpaceReclaimed: number }> {
    const removed = await this.mutate((draft) => {
      const out: ImageRecord[] = [];
      for (const image of [...draft.images.values()]) {
        const dangling = image.repoTags.length === 0 && image.repoDigests.length === 0;
        if ((options.all || dangling) && !(this.options.inUse?.(image.id) ?? false)) {
          draft.images.delete(image.id);
          out.push(image);
        }
      }
      return out;
    });
    const items: DeleteItem[] = [];
    for (const r of removed) {
      for (const t of r.repoTags) items.push({ Untagged: familiar(t) });
      for (const d of r.repoDigests) items.push({ Untagged: familiar(d) });
      items.push({ Deleted: r.id });
    }
    const SpaceReclaimed = await this.releaseBlobs(removed);
    return { ImagesDeleted: items, SpaceReclaimed };
  }

  /** Delete the blobs of removed images that no current image uses; returns the bytes freed. */
  private async releaseBlobs(removed: ImageRecord[]): Promise<number> {
    // Inside the queue, so an addImages that reuses one of these blobs waits for this to finish.
    const run = async () => {
      const used = referencedIn(this.state);
      let freed = 0;
      for (const d of new Set(removed.flatMap(blobsOfRecord))) if (!used.has(d)) freed += await this.content.remove(d);
      return freed;
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }
}

function referencedIn(state: State): Set<Digest> {
  const used = new Set<Digest>();
  for (const r of state.images.values()) for (const d of blobsOfRecord(r)) used.add(d);
  return used;
}

function moveTag(draft: State, canonical: string, image: ImageRecord, now: string): void {
  for (const other of draft.images.values()) {
    if (other.id !== image.id && other.repoTags.includes(canonical)) other.repoTags = other.repoTags.filter((t) => t !== canonical);
  }
  if (!image.repoTags.includes(canonical)) {
    image.repoTags.push(canonical);
    image.lastTagTime = now;
  }
}

/** Untag one reference; removing a repository's last tag also drops its repo digests (docker). */
function removeReference(image: ImageRecord, reference: string, via: 'tag' | 'digest'): DeleteItem[] {
  const items: DeleteItem[] = [{ Untagged: familiar(reference) }];
  if (via === 'tag') {
    image.repoTags = image.repoTags.filter((t) => t !== reference);
    const repo = repoOf(reference);
    if (!image.repoTags.some((t) => repoOf(t) === repo)) {
      for (const d of image.repoDigests.filter((x) => repoOf(x) === repo)) items.push({ Untagged: familiar(d) });
      image.repoDigests = image.repoDigests.filter((x) => repoOf(x) !== repo);
    }
  } else {
    image.repoDigests = image.repoDigests.filter((d) => d !== reference);
  }
  return items;
}

function resolveIn(state: State, input: string): ResolvedImage {
  const full = /^(?:sha256:)?([a-f0-9]{64})$/.exec(input);
  if (full) {
    const image = state.images.get(`sha256:${full[1]}` as Digest);
    if (image) return { image, via: 'id' };
  }
  let ref: ImageReference | undefined;
  if (!full) {
    try {
      ref = parseImageReference(input);
    } catch {
      ref = undefined;
    }
  }
  if (ref) {
    if (ref.digest) {
      const canonical = formatImageReference({ domain: ref.domain, repository: ref.repository, digest: ref.digest });
      for (const image of state.images.values()) if (image.repoDigests.includes(canonical)) return { image, via: 'digest', reference: canonical };
      // docker also accepts name@<manifest digest> for an image it holds under that name by tag.
      for (const image of state.images.values()) {
        if ((image.target.digest === ref.digest || image.manifest.digest === ref.digest) && image.repoTags.some((t) => repoOf(t) === `${ref.domain}/${ref.repository}`)) {
          return { image, via: 'id' };
        }
      }
    } else {
      const canonical = formatImageReference({ domain: ref.domain, repository: ref.repository, tag: ref.tag! });
      for (const image of state.images.values()) if (image.repoTags.includes(canonical)) return { image, via: 'tag', reference: canonical };
    }
  }
  const prefix = /^(?:sha256:)?([a-f0-9]+)$/.exec(input);
  if (prefix && prefix[1]!.length >= minIdPrefix) {
    const matches = [...state.images.values()].filter((r) => r.id.startsWith(`sha256:${prefix[1]}`));
    if (matches.length === 1) return { image: matches[0]!, via: 'id' };
    if (matches.length > 1) throw new TsdError('INVALID_ARGUMENT', `ambiguous image ID prefix ${input}: ${matches.length} images match`);
  }
  throw new TsdError('NOT_FOUND', `No such image: ${input}`, { detail: { reference: input } });
}
