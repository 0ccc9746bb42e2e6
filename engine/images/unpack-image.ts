/**
 * An image's layers as a chain of committed snapshots named by chain ID (containerd's naming:
 * chain(L1) = DiffID1, chain(L1..Ln) = sha256(chain(L1..Ln-1) + " " + DiffIDn)), so images that
 * share a base share its snapshots. Each layer is applied in a worker (UnpackPool) into a fresh
 * active snapshot, its DiffID checked, and only then committed under the chain ID: a failed or
 * interrupted unpack leaves no committed snapshot (the active one is removed, or, after a kill,
 * by removeStaleExtractions in the next process).
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { digestOf, type Digest } from '../../shared/digest.js';
import { TsdError } from '../../shared/errors.js';
import { isSnapshotError } from '../snapshots/snapshotter.js';
import type { ApplyResult } from '../unpack/apply.js';
import type { EngineContext } from './engine-context.js';
import { joinShared, type SharedWork } from './pull-flight.js';
import type { ImageRecord } from './record.js';

/** The chain IDs of a list of DiffIDs, bottom layer first. */
export function chainIds(diffIds: Digest[]): Digest[] {
  const out: Digest[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : digestOf(`${out[out.length - 1]} ${d}`));
  return out;
}

export interface LayerToUnpack {
  /** The compressed blob in the content store. */
  digest: Digest;
  mediaType: string;
  diffId: Digest;
}

export interface UnpackLayerOptions {
  signal?: AbortSignal;
  onApplied?: (result: ApplyResult) => void;
  /**
   * Compressed bytes of the layer read so far (its Extracting progress). With it, the blob is read
   * here and streamed to the worker (instead of the worker reading the file) so it can be counted.
   */
  onProgress?: (bytesRead: number) => void;
  /**
   * The compressed bytes as they are being downloaded, instead of the stored blob: extraction
   * starts before the download ends. `start` is called when a worker is ready to read; it returns
   * undefined when the bytes are no longer on offer (then the stored blob is read, once `complete`).
   * The snapshot is committed only after `complete` (the blob stored and verified) resolves.
   * `abandon` is called when the bytes are not (or no longer) read.
   */
  source?: { start(): AsyncIterable<Uint8Array> | undefined; complete: Promise<unknown>; abandon(): void };
}

/**
 * An unpack in flight in this process, shared by every caller that asks for the same chain ID: it
 * is cancelled only when all of them have given up, and each gets the progress.
 */
interface Flight extends SharedWork<boolean> {
  listeners: Set<(bytes: number) => void>;
  bytes: number;
}

/** Unpacks in flight in this process, by chain ID: a second caller waits for the first. */
const inFlight = new WeakMap<EngineContext, Map<string, Flight>>();

/** Active snapshots being unpacked into by this process, per engine. */
const activeKeys = new WeakMap<EngineContext, Set<string>>();
const swept = new WeakSet<EngineContext>();

function activeKeysOf(ctx: EngineContext): Set<string> {
  let keys = activeKeys.get(ctx);
  if (!keys) activeKeys.set(ctx, (keys = new Set()));
  return keys;
}

/**
 * Remove the active `extract-*` snapshots a killed process left (its unpacks never finished, so
 * they hold half a layer); the ones this process is filling are kept. Done once per engine unless
 * `always`; returns how many were removed.
 */
export async function removeStaleExtractions(ctx: EngineContext, options: { always?: boolean } = {}): Promise<number> {
  if (swept.has(ctx) && !options.always) return 0;
  swept.add(ctx);
  const live = activeKeysOf(ctx);
  const stale: string[] = [];
  for await (const info of ctx.snapshots.walk()) if (info.kind === 'active' && info.key.startsWith('extract-') && !live.has(info.key)) stale.push(info.key);
  let removed = 0;
  for (const key of stale) {
    try {
      await ctx.snapshots.remove(key);
      removed++;
    } catch (err) {
      if (!isSnapshotError(err, 'not-found') && !isSnapshotError(err, 'busy')) throw err;
    }
  }
  return removed;
}

/** Is `key` a committed snapshot? */
export async function isCommitted(ctx: EngineContext, key: string): Promise<boolean> {
  try {
    return (await ctx.snapshots.stat(key)).kind === 'committed';
  } catch (err) {
    if (isSnapshotError(err, 'not-found')) return false;
    throw err;
  }
}

const committed = isCommitted;

/** The live bytes while on offer, else the stored blob once the download is complete. */
async function* liveOrStored(given: NonNullable<UnpackLayerOptions['source']>, path: string, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  const live = given.start();
  if (live) {
    yield* live;
    return;
  }
  await given.complete;
  yield* createReadStream(path, { highWaterMark: 1 << 20, signal }) as AsyncIterable<Buffer>;
}

/** Bytes counted as they are read. */
async function* counted(source: AsyncIterable<Uint8Array>, onBytes: (n: number) => void): AsyncGenerator<Uint8Array> {
  let n = 0;
  for await (const chunk of source) {
    n += chunk.length;
    onBytes(n);
    yield chunk;
  }
}

/**
 * Unpack one layer on top of `parent` (a committed chain ID, or undefined for the bottom layer)
 * into the snapshot `chain`. Returns false when it was already there or another caller did it.
 */
export function unpackLayer(ctx: EngineContext, parent: string | undefined, chain: string, layer: LayerToUnpack, options: UnpackLayerOptions = {}): Promise<boolean> {
  let running = inFlight.get(ctx);
  if (!running) inFlight.set(ctx, (running = new Map()));
  const existing = running.get(chain);
  // A flight every caller has given up on is winding down: start afresh beside it.
  if (existing && !existing.controller.signal.aborted) {
    options.source?.abandon();
    return join(existing, options).then(() => false);
  }
  const controller = new AbortController();
  const flight: Flight = { work: Promise.resolve(false), controller, interested: 0, listeners: new Set(), bytes: 0 };
  const streamed = options.onProgress !== undefined || options.source !== undefined;
  const given = options.source;
  // A reader blocked on a download that stalls must still stop when the unpack is cancelled.
  if (given) controller.signal.addEventListener('abort', () => given.abandon(), { once: true });
  flight.work = (async () => {
    try {
      if (await committed(ctx, chain)) return false;
      const key = `extract-${randomBytes(6).toString('hex')}-${chain}`;
      const live = activeKeysOf(ctx);
      live.add(key);
      try {
        await ctx.snapshots.prepare(key, parent, { labels: { 'tsdocker.layer': layer.digest } });
      } catch (err) {
        live.delete(key);
        throw err;
      }
      try {
        const target = await ctx.snapshots.applyTarget(key);
        const path = ctx.content.pathOf(layer.digest);
        const source = streamed
          ? counted(given ? liveOrStored(given, path, controller.signal) : createReadStream(path, { highWaterMark: 1 << 20, signal: controller.signal }), (n) => {
              flight.bytes = n;
              for (const l of flight.listeners) l(n);
            })
          : path;
        const result = await ctx.unpack.apply(target.dir, source, {
          mediaType: layer.mediaType,
          expectedDiffId: layer.diffId,
          mode: target.mode,
          signal: controller.signal,
        });
        given?.abandon();
        options.onApplied?.(result);
        // Extracted from the download itself: the blob must be stored and verified first.
        await given?.complete;
        await ctx.snapshots.commit(chain, key);
        live.delete(key);
        return true;
      } catch (err) {
        await ctx.snapshots.remove(key).catch(() => {});
        live.delete(key);
        // Another process (or a restarted one) committed the same chain meanwhile: same content.
        if (isSnapshotError(err, 'exists') && (await committed(ctx, chain))) return false;
        throw err;
      }
    } finally {
      // Whatever happened, the download must never wait for a reader that is gone.
      given?.abandon();
    }
  })();
  running.set(chain, flight);
  const cleanup = () => {
    if (running!.get(chain) === flight) running!.delete(chain);
  };
  flight.work.then(cleanup, cleanup);
  return join(flight, options);
}

function join(flight: Flight, options: UnpackLayerOptions): Promise<boolean> {
  const { signal, onProgress } = options;
  if (onProgress) {
    flight.listeners.add(onProgress);
    if (flight.bytes > 0) onProgress(flight.bytes);
  }
  return joinShared(flight, signal, () => onProgress && flight.listeners.delete(onProgress));
}

/**
 * Make sure every layer of `image` is unpacked into its committed snapshot (unpacking the missing
 * ones from the content store, bottom up); returns the top chain ID ('' for an image with no layers).
 */
export async function unpackImage(ctx: EngineContext, image: ImageRecord, options: { signal?: AbortSignal } = {}): Promise<string> {
  if (image.layers.length !== image.diffIds.length) {
    throw new TsdError('MANIFEST_INVALID', `image ${image.id}: ${image.layers.length} layers but ${image.diffIds.length} DiffIDs`);
  }
  const chains = chainIds(image.diffIds);
  // Find the highest committed snapshot first: everything below it is there too.
  let from = chains.length;
  while (from > 0 && !(await committed(ctx, chains[from - 1]!))) from--;
  for (let i = from; i < chains.length; i++) {
    const layer = image.layers[i]!;
    await unpackLayer(ctx, i === 0 ? undefined : chains[i - 1], chains[i]!, { digest: layer.digest, mediaType: layer.mediaType, diffId: image.diffIds[i]! }, options);
  }
  return chains.length === 0 ? '' : chains[chains.length - 1]!;
}

/**
 * Remove the committed layer snapshots no image record needs any more (after rmi / prune), top
 * down so parents lose their children first; snapshots still in use (a container's writable
 * layer on top, a mount) are kept. Returns how many were removed.
 */
export async function removeUnusedSnapshots(ctx: EngineContext): Promise<number> {
  const needed = new Set<string>();
  for (const r of ctx.images.all()) for (const c of chainIds(r.diffIds)) needed.add(c);
  const all = [];
  for await (const info of ctx.snapshots.walk()) all.push(info);
  const parents = new Map(all.map((i) => [i.key, i.parent]));
  // A chain ID snapshot's depth orders the removal: deepest first.
  const depth = (key: string): number => {
    let n = 0;
    for (let p = parents.get(key); p !== undefined; p = parents.get(p)) n++;
    return n;
  };
  const candidates = all.filter((i) => i.kind === 'committed' && i.key.startsWith('sha256:') && !needed.has(i.key)).sort((a, b) => depth(b.key) - depth(a.key));
  let removed = 0;
  for (const info of candidates) {
    try {
      await ctx.snapshots.remove(info.key);
      removed++;
    } catch (err) {
      if (!isSnapshotError(err, 'has-children') && !isSnapshotError(err, 'busy') && !isSnapshotError(err, 'not-found')) throw err;
    }
  }
  return removed;
}
