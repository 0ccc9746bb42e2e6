/**
 * Push: HEAD every blob first and upload only what the registry lacks (mounting from another
 * repository of the same registry when one holds it), then the manifest. Emits docker's
 * progress messages.
 *
 * Blobs and manifests go up exactly as stored, so the registry serves the digests we hold
 * (an image pulled elsewhere keeps its digests; compressed layers are never recompressed).
 * Layers upload in parallel, at most `maxConcurrentUploads` at a time, in dockerd's order (top
 * layer first); the first failure (or the caller's abort) cancels the uploads in flight, and
 * nothing is recorded unless the manifest went up.
 */
import { setMaxListeners } from 'node:events';
import { pipeline } from 'node:stream';
import type { Digest } from '../../shared/digest.js';
import { TsdError } from '../../shared/errors.js';
import { familiarName, formatImageReference, parseImageReference, type ImageReference } from '../../shared/reference.js';
import type { Credentials } from '../client/auth.js';
import type { RegistryClient } from '../client/registry-client.js';
import type { EngineContext } from './engine-context.js';
import type { MessageSink } from './json-message.js';
import { dockerPushError, imageNotFound } from './push-errors.js';
import { mountSources, planPush, type PushPlan } from './push-plan.js';
import { LayerProgress, sinkOf } from './push-progress.js';
import type { ImageRecord } from './record.js';

export interface PushOptions {
  /** From X-Registry-Auth; else the daemon's docker config. */
  credentials?: Credentials;
  signal?: AbortSignal;
  onMessage?: MessageSink;
  /** Upload in PATCH chunks of this size; default one monolithic PUT per blob. */
  chunkSize?: number;
}

export interface PushResult {
  /** The canonical reference pushed (`127.0.0.1:5000/team/app:v1`). */
  reference: string;
  tag: string;
  digest: Digest;
  size: number;
}

interface Target {
  tag: string;
  image: ImageRecord;
}

/** The repository to push to, and the tag when one was given. */
function parseTarget(reference: string): { ref: ImageReference; tag: string | undefined } {
  const ref = parseImageReference(reference, { defaultTag: '\0' });
  if (ref.digest) throw new TsdError('INVALID_ARGUMENT', `cannot push a digest reference: ${reference}`);
  const tag = ref.tag === '\0' ? undefined : ref.tag;
  return { ref: { domain: ref.domain, repository: ref.repository }, tag };
}

/** The tagged images to push: the one tag, or every tag of the repository (sorted, as docker lists them). */
function selectTargets(images: ImageRecord[], ref: ImageReference, tag: string | undefined): Target[] {
  const prefix = `${ref.domain}/${ref.repository}:`;
  const out: Target[] = [];
  for (const image of images) {
    for (const t of image.repoTags) {
      if (!t.startsWith(prefix)) continue;
      const name = t.slice(prefix.length);
      if (tag === undefined || name === tag) out.push({ tag: name, image });
    }
  }
  return out.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
}

/**
 * Run `fn` over `items`, at most `limit` at once. The first failure aborts `abort` (so the others
 * stop) and is thrown once every call has settled.
 */
async function runLimited<T>(items: readonly T[], limit: number, abort: AbortController, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (next < items.length && !abort.signal.aborted) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
        abort.abort(err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  if (failure) throw failure.err;
}

/** Upload the plan's layers (with progress rows) and configs; only what the registry lacks moves. */
async function pushBlobs(ctx: EngineContext, client: RegistryClient, repository: string, plan: PushPlan, mounts: Map<Digest, string>, options: PushOptions, abort: AbortController): Promise<void> {
  const sink = sinkOf(options.onMessage);
  const signal = abort.signal;
  const rows = new Map(plan.layers.map((l) => [l.digest, new LayerProgress(sink, l.id, l.size)]));
  for (const row of rows.values()) row.status('Preparing');
  for (const row of [...rows.values()].slice(ctx.maxConcurrentUploads)) row.status('Waiting');

  const upload = async (blob: { digest: Digest; size: number }, row: LayerProgress | undefined) => {
    const mountFrom = mounts.get(blob.digest);
    const result = await client.pushBlob(
      repository,
      blob.digest,
      blob.size,
      async () => {
        const source = await ctx.content.open(blob.digest, { signal });
        return row ? pipeline(source, row.counter(), () => {}) : source;
      },
      { signal, ...(options.chunkSize !== undefined ? { chunkSize: options.chunkSize } : {}), ...(mountFrom !== undefined ? { mountFrom } : {}) },
    );
    if (!row) return;
    if (result.outcome === 'exists') row.status('Layer already exists');
    else if (result.outcome === 'mounted') row.status(`Mounted from ${mountFrom}`);
    else row.status('Pushed');
  };
  // Configs are small and not rows of their own (dockerd sends them beside the layers, silently).
  const settled = await Promise.allSettled([
    runLimited(plan.layers, ctx.maxConcurrentUploads, abort, (l) => upload(l, rows.get(l.digest))),
    runLimited(plan.configs, plan.configs.length, abort, (c) => upload(c, undefined)),
  ]);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
}

async function pushTag(ctx: EngineContext, client: RegistryClient, ref: ImageReference, target: Target, options: PushOptions): Promise<PushResult> {
  const sink = sinkOf(options.onMessage);
  const plan = await planPush(ctx.content, target.image);
  const release = ctx.content.hold(plan.blobs);
  const abort = new AbortController();
  // Every request, blob read and response body in flight listens on it.
  setMaxListeners(0, abort.signal);
  const onAbort = () => abort.abort(options.signal!.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    options.signal?.throwIfAborted();
    const mounts = mountSources(ctx.images.all(), ref.domain, ref.repository);
    await pushBlobs(ctx, client, ref.repository, plan, mounts, options, abort);
    const signal = abort.signal;
    // An index's children first, by digest: a registry refuses an index whose manifests it lacks.
    await Promise.all(plan.children.map((c) => client.putManifest(ref.repository, c.digest, c.raw, c.mediaType, { signal })));
    await client.putManifest(ref.repository, target.tag, plan.top.raw, plan.top.mediaType, { signal });
    const size = plan.top.raw.length;
    sink({ status: `${target.tag}: digest: ${plan.top.digest} size: ${size}` });
    sink({ progressDetail: {}, aux: { Tag: target.tag, Digest: plan.top.digest, Size: size } });
    await ctx.images.addRepoDigest(target.image.id, formatImageReference({ ...ref, digest: plan.top.digest }));
    return { reference: formatImageReference({ ...ref, tag: target.tag }), tag: target.tag, digest: plan.top.digest, size };
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason;
    throw dockerPushError(err);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    release();
  }
}

/**
 * `docker push NAME[:TAG]`: with a tag, that tag; without one, every tag of NAME in the image
 * store (docker's behaviour since 20.10).
 */
export async function pushImage(ctx: EngineContext, reference: string, options: PushOptions = {}): Promise<PushResult[]> {
  const { ref, tag } = parseTarget(reference);
  if (options.chunkSize !== undefined && (!Number.isSafeInteger(options.chunkSize) || options.chunkSize <= 0)) {
    throw new TsdError('INVALID_ARGUMENT', `invalid chunk size ${options.chunkSize}`);
  }
  sinkOf(options.onMessage)({ status: `The push refers to repository [${ref.domain}/${ref.repository}]` });
  const targets = selectTargets(ctx.images.all(), ref, tag);
  if (targets.length === 0) throw imageNotFound(familiarName(ref));
  const client = ctx.registry(ref.domain, options.credentials);
  const results: PushResult[] = [];
  for (const target of targets) results.push(await pushTag(ctx, client, ref, target, options));
  return results;
}
