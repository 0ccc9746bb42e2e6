/**
 * The layer half of a pull: every layer not yet here is downloaded (in parallel, under the
 * engine's download limit) and unpacked into its chain-ID snapshot as soon as it and every layer
 * below it are in, so layer N+1 downloads while layer N is extracted in an unpack worker; the
 * bottom layer is extracted from its download as it arrives. The
 * first failure cancels the rest; this resolves or rejects only once all the work has stopped,
 * so nothing runs on after a failed pull returns.
 */
import type { Digest } from '../../shared/digest.js';
import { TsdError, isTsdError } from '../../shared/errors.js';
import type { EngineContext } from './engine-context.js';
import { downloadBlob, downloadBlobTapped, type BlobSource, type DownloadState } from './pull-download.js';
import type { PullProgress } from './pull-progress.js';
import type { Tap } from './pull-tap.js';
import type { NewImage } from './record.js';
import { chainIds, isCommitted, unpackLayer } from './unpack-image.js';

/** dockerd's wording for a layer that cannot be unpacked; the code and detail stay. */
function layerError(err: unknown, digest: Digest): unknown {
  if (!isTsdError(err)) return err;
  return new TsdError(err.code, `failed to register layer ${digest}: ${err.message}`, { cause: err, detail: err.detail });
}

export interface LayersOutcome {
  /** Something was downloaded or unpacked. */
  changed: boolean;
}

/** How many layers from the bottom are committed snapshots already. */
async function committedPrefix(ctx: EngineContext, chains: Digest[]): Promise<number> {
  let n = 0;
  while (n < chains.length && (await isCommitted(ctx, chains[n]!))) n++;
  return n;
}

export async function pullLayers(
  ctx: EngineContext,
  source: BlobSource,
  image: NewImage,
  progress: PullProgress,
  control: { signal: AbortSignal; fail(err: unknown): void },
): Promise<LayersOutcome> {
  const { signal } = control;
  const layers = image.layers;
  const chains = chainIds(image.diffIds);
  const stored = await Promise.all(layers.map((l) => ctx.content.has(l.digest)));
  const present = await committedPrefix(ctx, chains);
  // dockerd does not go through the layers of an image it already has.
  if (present === chains.length && stored.every(Boolean) && ctx.images.get(image.id)) return { changed: false };

  for (let i = 0; i < layers.length; i++) progress.layer(layers[i]!.digest, i < present && stored[i] ? 'Already exists' : 'Pulling fs layer');

  let changed = false;
  let failure: unknown;
  const guard = <T>(p: Promise<T>): Promise<T> =>
    p.catch((err: unknown) => {
      if (failure === undefined) {
        failure = err;
        control.fail(err);
      }
      throw err;
    });

  // dockerd's order per layer: the download lines, then the extraction's. A layer extracted while
  // it downloads (below) shows its Extracting bars from the moment its download is complete.
  const downloaded = layers.map((_, i) => stored[i]!);
  const onDownload = (i: number) => (p: DownloadState) => {
    const { digest, size } = layers[i]!;
    if (p.state === 'waiting') progress.layer(digest, 'Waiting');
    else if (p.state === 'downloading') progress.bar(digest, 'Downloading', p.current, p.total);
    else if (p.state === 'verifying') {
      progress.bar(digest, 'Downloading', size, size, true);
      progress.layer(digest, 'Verifying Checksum');
    } else {
      progress.layer(digest, 'Download complete');
      downloaded[i] = true;
    }
  };

  // The first layer to unpack has nothing to wait for below it: it is extracted from its download
  // as the bytes arrive (when this pull starts that download).
  const tapped = layers.findIndex((_, i) => i >= present && !stored[i]);
  const starts = layers.map((layer, i): Promise<{ done: Promise<boolean>; tap?: { bytes: Tap; stored: Promise<unknown> } }> => {
    if (stored[i]) return Promise.resolve({ done: Promise.resolve(false) });
    const expected = { digest: layer.digest, size: layer.size };
    const options = { signal, onProgress: onDownload(i) };
    if (i === tapped) return guard(downloadBlobTapped(ctx, source, expected, options));
    return guard(downloadBlob(ctx, source, expected, options).then((fetched) => ({ done: Promise.resolve(fetched) })));
  });
  // Started in layer order, so the ones over the limit say Waiting in that order too.
  const downloads = starts.map((s) => guard(s.then((x) => x.done)));

  const unpacked: Array<Promise<void>> = [];
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i]!;
    const below = i === 0 ? Promise.resolve() : unpacked[i - 1]!;
    unpacked.push(
      guard(
        (async () => {
          const { tap } = await starts[i]!;
          if (!tap && (await downloads[i])) changed = true;
          if (!tap) downloaded[i] = true;
          await below;
          if (i < present) {
            // The snapshot was here; only the blob was missing (the same DiffID compressed differently).
            if (!stored[i]) progress.layer(layer.digest, 'Pull complete');
            return;
          }
          signal.throwIfAborted();
          const did = await unpackLayer(
            ctx,
            i === 0 ? undefined : chains[i - 1],
            chains[i]!,
            { digest: layer.digest, mediaType: layer.mediaType, diffId: image.diffIds[i]! },
            {
              signal,
              onProgress: (n) => downloaded[i] && progress.bar(layer.digest, 'Extracting', n, layer.size),
              ...(tap ? { source: { start: () => (tap.bytes.start() ? tap.bytes : undefined), complete: tap.stored, abandon: () => tap.bytes.detach() } } : {}),
            },
          ).catch(async (err: unknown) => {
            // Extracted from its download: when the download failed (wrong bytes), that is the cause.
            const download = tap ? await downloads[i]!.then(() => undefined, (e: unknown) => e) : undefined;
            throw download ?? (signal.aborted ? err : layerError(err, layer.digest));
          });
          if (tap && (await downloads[i])) changed = true;
          if (did) changed = true;
          progress.bar(layer.digest, 'Extracting', layer.size, layer.size, true);
          progress.layer(layer.digest, 'Pull complete');
        })(),
      ),
    );
  }
  await Promise.allSettled([...downloads, ...unpacked]);
  if (failure !== undefined) throw failure;
  return { changed };
}
