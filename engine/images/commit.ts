/**
 * A container's writable layer as changes, a tar and a new image: `docker diff`, `docker export`
 * and `docker commit`.
 *
 * - diff: overlay walks the snapshot's upper dir against the parent's merged tree; vfs (and
 *   overlay with redirected dirs or metacopy files) walks both full trees (commit-diff.ts).
 * - export: the merged tree (overlay: a read-only overlay mount with the upper dir as top lower
 *   layer) as an uncompressed tar; the mount is undone when the stream closes, ends or fails.
 * - commit: the same changes as a gzip layer (commit-layer.ts), a child config and manifest
 *   (commit-image.ts), all in the content store, the new chain's snapshot unpacked from the stored
 *   layer (which checks it once more), then the image record. A commit without changes adds no
 *   layer, only a history row marked empty_layer, as docker does.
 */
import { Readable } from 'node:stream';
import type { Digest } from '../../shared/digest.js';
import { TsdError } from '../../shared/errors.js';
import type { Descriptor, ImageConfig } from '../../shared/manifest.js';
import { changeRows, diffTrees, diffUpper, NeedsMergedWalk } from './commit-diff.js';
import { childConfig, childManifest, mediaTypesFor } from './commit-image.js';
import { layerTar, storeLayer, treeTar, type LayerPlan, type StoredLayer } from './commit-layer.js';
import { openTrees, type SnapshotTrees } from './commit-trees.js';
import { imageTopOf } from './container-rootfs.js';
import type { EngineContext } from './engine-context.js';
import { canonicalTag } from './image-store.js';
import { blobsOfRecord, parseConfig, type ImageRecord, type NewImage } from './record.js';
import { chainIds, unpackLayer } from './unpack-image.js';

/** docker's `GET /containers/{id}/changes` rows: Kind 0 = modified, 1 = added, 2 = deleted. */
export interface Change {
  Path: string;
  Kind: 0 | 1 | 2;
}

export interface CommitOptions {
  /** The container's writable snapshot (active) and the image it was made from. */
  snapshotKey: string;
  image: ImageRecord;
  /** `repo[:tag]` to tag the new image with (none: dangling). */
  reference?: string;
  /** The container's config as docker keeps it (Cmd, Entrypoint, Env, ...), merged with `--change` edits. */
  config?: ImageConfig['config'];
  comment?: string;
  author?: string;
  /** The history row's created_by (docker: the container's command). */
  createdBy?: string;
  /** The committing container's ID and config (the config's `container` / `container_config`). */
  container?: string;
  containerConfig?: Record<string, unknown>;
  signal?: AbortSignal;
}

export interface DiffOptions {
  signal?: AbortSignal;
  /** 'auto' (default): overlay walks its upper dir; 'full': compare the two merged trees whatever the driver. */
  walk?: 'auto' | 'full';
}

/** What changed, and where the changed nodes are read from. */
async function findChanges(trees: SnapshotTrees, options: DiffOptions): Promise<LayerPlan> {
  const { signal } = options;
  if (trees.driver === 'overlay' && options.walk !== 'full') {
    try {
      const upper = await diffUpper(trees.own, await trees.parent(), signal);
      return { root: trees.own, ...upper };
    } catch (err) {
      if (!(err instanceof NeedsMergedWalk)) throw err;
    }
  }
  const merged = trees.driver === 'overlay' ? await trees.merged({ followMeta: options.walk !== 'full' }) : trees.own;
  return { root: merged, changes: await diffTrees(await trees.parent(), merged, signal) };
}

/** What changed in the writable snapshot relative to its parent, sorted by path. */
export async function diffSnapshot(ctx: EngineContext, snapshotKey: string, options: DiffOptions = {}): Promise<Change[]> {
  const trees = await openTrees(ctx, snapshotKey);
  try {
    return changeRows((await findChanges(trees, options)).changes);
  } finally {
    await trees.release();
  }
}

/** The container's whole filesystem (all layers + the writable one) as an uncompressed tar. */
export async function exportSnapshot(ctx: EngineContext, snapshotKey: string, options: { signal?: AbortSignal } = {}): Promise<Readable> {
  options.signal?.throwIfAborted();
  const trees = await openTrees(ctx, snapshotKey);
  let root: string;
  try {
    root = await trees.merged();
  } catch (err) {
    await trees.release().catch(() => undefined);
    throw err;
  }
  const stream = Readable.from(treeTar(root, options.signal), { objectMode: false, highWaterMark: 1 << 20 });
  // 'close' follows the end, an error and destroy() alike.
  stream.once('close', () => void trees.release().catch(() => undefined));
  if (options.signal) {
    const signal = options.signal;
    const abort = () => stream.destroy(signal.reason instanceof Error ? signal.reason : new Error('export aborted'));
    signal.addEventListener('abort', abort, { once: true });
    stream.once('close', () => signal.removeEventListener('abort', abort));
  }
  return stream;
}

/**
 * The writable layer as a new gzip layer (deletions as whiteouts) on top of `image`: new config
 * (diff_ids, history, config), manifest, content-store blobs, image record, and a committed
 * snapshot for the new chain so the image runs without unpacking.
 */
export async function commitContainer(ctx: EngineContext, options: CommitOptions): Promise<ImageRecord> {
  const { image, snapshotKey, signal } = options;
  const tags = options.reference === undefined ? [] : [canonicalTag(options.reference)];
  const chains = chainIds(image.diffIds);
  const parentChain = chains.at(-1);
  const imageTop = await imageTopOf(ctx, snapshotKey);
  if (imageTop !== parentChain) {
    throw new TsdError('INVALID_ARGUMENT', `snapshot ${JSON.stringify(snapshotKey)} is not a container of image ${image.id} (it stands on ${imageTop ?? 'no image'})`);
  }
  const types = mediaTypesFor(image.manifest.mediaType);
  const held: Array<() => void> = [ctx.content.hold(blobsOfRecord(image))];
  // Blobs this commit added: removed again if it fails before the image is recorded.
  const added: Digest[] = [];
  let recorded = false;
  try {
    // parseConfig validates (size, rootfs); the child keeps every other field of the document as it is.
    const parentRaw = await ctx.content.get(image.config.digest);
    parseConfig(parentRaw, image.config.digest);
    const parentConfig = JSON.parse(parentRaw.toString('utf8')) as Record<string, unknown>;

    let layer: StoredLayer | undefined;
    const trees = await openTrees(ctx, snapshotKey);
    try {
      const plan = await findChanges(trees, { ...(signal ? { signal } : {}) });
      if (plan.changes.size > 0) {
        layer = await storeLayer(ctx, layerTar(plan, signal), signal ? { signal } : {});
        held.push(ctx.content.hold([layer.digest]));
        if (!layer.existed) added.push(layer.digest);
      }
    } finally {
      await trees.release();
    }

    const created = new Date().toISOString();
    const config = childConfig(parentConfig, {
      created,
      ...(layer ? { diffId: layer.diffId } : {}),
      ...(options.author ? { author: options.author } : {}),
      ...(options.comment ? { comment: options.comment } : {}),
      ...(options.createdBy ? { createdBy: options.createdBy } : {}),
      ...(options.config ? { config: options.config } : {}),
      ...(options.container ? { container: options.container } : {}),
      ...(options.containerConfig ? { containerConfig: options.containerConfig } : {}),
    });
    const configStored = await ctx.content.put(Buffer.from(JSON.stringify(config)));
    held.push(ctx.content.hold([configStored.digest]));
    if (!configStored.existed) added.push(configStored.digest);
    const layers: Descriptor[] = [...image.layers];
    if (layer) layers.push({ mediaType: types.layer, digest: layer.digest, size: layer.size });
    const diffIds: Digest[] = layer ? [...image.diffIds, layer.diffId] : [...image.diffIds];
    const manifestBytes = childManifest(types, configStored, layers);
    const manifestStored = await ctx.content.put(manifestBytes);
    held.push(ctx.content.hold([manifestStored.digest]));
    if (!manifestStored.existed) added.push(manifestStored.digest);

    if (layer) {
      const chain = chainIds(diffIds).at(-1)!;
      await unpackLayer(ctx, parentChain, chain, { digest: layer.digest, mediaType: types.layer, diffId: layer.diffId }, signal ? { signal } : {});
    }
    signal?.throwIfAborted();
    const manifestRef = { digest: manifestStored.digest, mediaType: types.manifest, size: manifestBytes.length };
    const record: NewImage = {
      id: configStored.digest,
      target: manifestRef,
      manifest: manifestRef,
      config: { mediaType: types.config, digest: configStored.digest, size: configStored.size },
      layers,
      diffIds,
      created,
    };
    if (image.platform) record.platform = image.platform;
    const [result] = await ctx.images.addImages([{ image: record, tags }]);
    recorded = true;
    return result!;
  } finally {
    for (const release of held) release();
    if (!recorded) for (const d of added) await ctx.content.remove(d).catch(() => 0);
  }
}
