/**
 * Pull: reference -> (index -> this platform's manifest) -> config + layers into the content
 * store -> each layer unpacked into its snapshot -> image record. Emits docker's progress messages.
 *
 * Manifests are stored as the exact bytes received; the platform's manifest and the config are
 * chosen and read by describeImage, the same function that then records the image, so the pull
 * and the record agree. Layers go through pull-layers.ts. The record is written last: a pull that
 * fails or is interrupted leaves verified blobs and committed lower snapshots (which the next pull
 * reuses), never an image record or a half-unpacked committed snapshot.
 */
import { setMaxListeners } from 'node:events';
import type { Digest } from '../../shared/digest.js';
import { TsdError } from '../../shared/errors.js';
import { parseManifest, type Descriptor, type Platform } from '../../shared/manifest.js';
import { formatImageReference, parseImageReference } from '../../shared/reference.js';
import type { Credentials } from '../client/auth.js';
import type { FetchedManifest } from '../client/registry-client.js';
import type { EngineContext } from './engine-context.js';
import { familiar } from './image-store.js';
import type { MessageSink } from './json-message.js';
import { downloadBlob, type BlobSource } from './pull-download.js';
import { pullError } from './pull-errors.js';
import { pullLayers } from './pull-layers.js';
import { PullProgress } from './pull-progress.js';
import { blobsOfRecord, describeImage, maxConfigBytes, type ImageRecord } from './record.js';
import { removeStaleExtractions } from './unpack-image.js';

export interface PullOptions {
  /** `--platform` (default: this host's). */
  platform?: Platform;
  /** From X-Registry-Auth; else the daemon's docker config. */
  credentials?: Credentials;
  signal?: AbortSignal;
  onMessage?: MessageSink;
}

export interface PullResult {
  image: ImageRecord;
  /** The canonical reference pulled (`docker.io/library/debian:latest`). */
  reference: string;
  /** The digest the reference resolved to (manifest or index). */
  digest: Digest;
  /** `downloaded`: something was fetched; `up-to-date`: everything was already here. */
  status: 'downloaded' | 'up-to-date';
}

/** Store a fetched manifest under its digest, exactly as received. */
async function storeManifest(ctx: EngineContext, m: FetchedManifest): Promise<void> {
  const stored = await ctx.content.put(m.raw);
  if (stored.digest !== m.digest) throw new TsdError('DIGEST_INVALID', `manifest ${m.digest} hashes to ${stored.digest}`);
}

/**
 * A blob reader for describeImage that fetches what the content store lacks: the target (already
 * fetched), a manifest the index lists, or the config a manifest names. It keeps each blob it
 * hands out held against deletion until the pull ends.
 */
function registryBlobs(ctx: EngineContext, source: BlobSource, top: FetchedManifest, signal: AbortSignal, hold: (d: Digest) => void) {
  const parsedTop = parseManifest(top.raw);
  const children = new Set<string>(parsedTop.manifests.map((m) => m.digest));
  const configs = new Map<string, Descriptor>();
  const noteConfig = (raw: Buffer) => {
    const m = parseManifest(raw);
    if (m.kind === 'manifest' && m.blobs[0]) configs.set(m.blobs[0].digest, m.blobs[0]);
  };
  if (parsedTop.kind === 'manifest') noteConfig(top.raw);
  return async (d: Digest): Promise<Buffer> => {
    hold(d);
    if (d === top.digest) return top.raw;
    if (children.has(d)) {
      let raw: Buffer;
      if (await ctx.content.has(d)) raw = await ctx.content.get(d);
      else {
        const m = await source.client.getManifest(source.repository, d, { signal });
        await storeManifest(ctx, m);
        raw = m.raw;
      }
      noteConfig(raw);
      return raw;
    }
    const config = configs.get(d);
    if (!config) throw new TsdError('MANIFEST_INVALID', `${d} is neither a manifest of ${top.digest} nor a config`);
    if (config.size > maxConfigBytes) throw new TsdError('MANIFEST_TOO_LARGE', `config ${d} is ${config.size} bytes, over ${maxConfigBytes}`);
    await downloadBlob(ctx, source, { digest: d, size: config.size }, { signal });
    return ctx.content.get(d);
  };
}

/** The image a canonical tag or digest reference names in the store now, if any. */
function currentImage(ctx: EngineContext, canonical: string, byDigest: boolean): Digest | undefined {
  return ctx.images.all().find((r) => (byDigest ? r.repoDigests : r.repoTags).includes(canonical))?.id;
}

export async function pullImage(ctx: EngineContext, reference: string, options: PullOptions = {}): Promise<PullResult> {
  const parsed = parseImageReference(reference);
  // A reference with both a tag and a digest is pulled by its digest (as docker does).
  const ref = parsed.digest ? { domain: parsed.domain, repository: parsed.repository, digest: parsed.digest } : parsed;
  const canonical = formatImageReference(ref);
  const byDigest = ref.digest !== undefined;
  const source: BlobSource = { client: ctx.registry(ref.domain, options.credentials), repository: ref.repository };
  const progress = new PullProgress(options.onMessage);

  options.signal?.throwIfAborted();
  // Aborted by the caller, or by the first failure so the rest of the work stops.
  const controller = new AbortController();
  // Every layer's download and unpack listen to it: many listeners are expected, not a leak.
  setMaxListeners(0, controller.signal);
  const outer = options.signal;
  const onOuterAbort = () => controller.abort(outer!.reason);
  outer?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = controller.signal;
  const releases: Array<() => void> = [];
  const hold = (d: Digest) => releases.push(ctx.content.hold([d]));
  try {
    let top: FetchedManifest;
    try {
      top = await source.client.getManifest(ref.repository, ref.digest ?? ref.tag!, { signal });
    } catch (err) {
      throw pullError(err, ref, options.credentials === undefined);
    }
    hold(top.digest);
    await storeManifest(ctx, top);
    progress.header(ref.repository, byDigest ? familiar(canonical) : ref.tag!);

    const target = { digest: top.digest, mediaType: top.mediaType };
    const platform = options.platform ? { platform: options.platform } : {};
    const image = await describeImage(registryBlobs(ctx, source, top, signal, hold), target, platform);
    for (const d of blobsOfRecord(image)) hold(d);

    await removeStaleExtractions(ctx);
    const layers = await pullLayers(ctx, source, image, progress, { signal, fail: (err) => controller.abort(err) });

    const before = currentImage(ctx, canonical, byDigest);
    const record = await ctx.images.addFromContent(target, {
      tags: byDigest ? [] : [canonical],
      repoDigests: [formatImageReference({ domain: ref.domain, repository: ref.repository, digest: top.digest })],
      ...platform,
    });
    const upToDate = !layers.changed && before === record.id;
    progress.status(`Digest: ${top.digest}`);
    progress.status(`Status: ${upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${familiar(canonical)}`);
    return { image: record, reference: canonical, digest: top.digest, status: upToDate ? 'up-to-date' : 'downloaded' };
  } catch (err) {
    // After the caller's abort, every part fails with its reason: report that, not a side effect.
    if (outer?.aborted) throw outer.reason;
    throw err;
  } finally {
    outer?.removeEventListener('abort', onOuterAbort);
    for (const release of releases) release();
  }
}
