/**
 * Blob downloads into the content store for pulls: at most `maxConcurrentDownloads` at a time per
 * engine (dockerd's limit is per daemon, not per pull), one download per digest however many pulls
 * want it (the others join it and get its progress), cancelled only when every pull that waits
 * for it has given up. Each blob is hashed while it streams (by the registry client's verifying
 * stream and again by the content store's commit) and becomes visible only once verified.
 */
import type { Digest } from '../../shared/digest.js';
import type { RegistryClient } from '../client/registry-client.js';
import type { EngineContext } from './engine-context.js';
import { joinShared, type SharedWork } from './pull-flight.js';
import { Tap } from './pull-tap.js';

export type DownloadState =
  | { state: 'waiting' }
  | { state: 'downloading'; current: number; total: number }
  | { state: 'verifying' }
  | { state: 'complete' };

export type DownloadListener = (progress: DownloadState) => void;

export interface BlobSource {
  client: RegistryClient;
  repository: string;
}

interface Flight extends SharedWork<void> {
  listeners: Set<DownloadListener>;
  last: DownloadState | undefined;
}

const flights = new WeakMap<EngineContext, Map<Digest, Flight>>();
const limiters = new WeakMap<EngineContext, Limiter>();

/** A counting semaphore; `acquire` tells the caller when it has to wait. */
class Limiter {
  private free: number;
  private readonly queue: Array<{ grant: () => void }> = [];

  constructor(size: number) {
    this.free = Math.max(1, size);
  }

  async acquire(signal: AbortSignal, onWait: () => void): Promise<() => void> {
    signal.throwIfAborted();
    if (this.free > 0) {
      this.free--;
      return this.releaser();
    }
    onWait();
    await new Promise<void>((resolve, reject) => {
      const entry = {
        grant: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const i = this.queue.indexOf(entry);
        if (i >= 0) this.queue.splice(i, 1);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.queue.push(entry);
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.queue.shift();
      if (next) next.grant();
      else this.free++;
    };
  }
}

function limiterFor(ctx: EngineContext): Limiter {
  let l = limiters.get(ctx);
  if (!l) limiters.set(ctx, (l = new Limiter(ctx.maxConcurrentDownloads)));
  return l;
}

/** Join the download of `expected`, starting it (with a tap when asked) unless it is already stored. */
async function enter(
  ctx: EngineContext,
  source: BlobSource,
  expected: { digest: Digest; size: number },
  withTap: boolean,
): Promise<{ flight?: Flight; tap?: Tap }> {
  let running = flights.get(ctx);
  if (!running) flights.set(ctx, (running = new Map()));
  // A flight every caller has given up on is winding down: start afresh beside it.
  const live = () => {
    const f = running.get(expected.digest);
    return f && !f.controller.signal.aborted ? f : undefined;
  };
  const existing = live();
  if (existing) return { flight: existing };
  if (await ctx.content.has(expected.digest)) return {};
  const again = live();
  if (again) return { flight: again };
  const tap = withTap ? new Tap() : undefined;
  return { flight: start(ctx, running, source, expected, tap), ...(tap ? { tap } : {}) };
}

/**
 * Make sure the blob `expected` is in the content store, downloading it from `source` if not.
 * Resolves to false when it was already stored (nothing fetched), true when it was fetched (by
 * this call or by another pull it joined).
 */
export async function downloadBlob(
  ctx: EngineContext,
  source: BlobSource,
  expected: { digest: Digest; size: number },
  options: { signal?: AbortSignal; onProgress?: DownloadListener } = {},
): Promise<boolean> {
  const { flight } = await enter(ctx, source, expected, false);
  if (!flight) return false;
  await join(flight, options);
  return true;
}

/**
 * downloadBlob that, when this call starts the download, also hands back a tap on its bytes (to
 * unpack them as they arrive). `done` is downloadBlob's promise for this caller; `tap.stored`
 * settles when the blob is stored and verified (or the download failed), for any caller.
 */
export async function downloadBlobTapped(
  ctx: EngineContext,
  source: BlobSource,
  expected: { digest: Digest; size: number },
  options: { signal?: AbortSignal; onProgress?: DownloadListener } = {},
): Promise<{ done: Promise<boolean>; tap?: { bytes: Tap; stored: Promise<unknown> } }> {
  const { flight, tap } = await enter(ctx, source, expected, true);
  if (!flight) return { done: Promise.resolve(false) };
  const done = join(flight, options).then(() => true);
  if (!tap) return { done };
  // The download itself, whoever still waits for it (this caller may give up while others go on).
  const stored = flight.work;
  stored.catch(() => {});
  return { done, tap: { bytes: tap, stored } };
}

function start(ctx: EngineContext, running: Map<Digest, Flight>, source: BlobSource, expected: { digest: Digest; size: number }, tap?: Tap): Flight {
  const controller = new AbortController();
  const flight: Flight = { work: Promise.resolve(), controller, interested: 0, listeners: new Set(), last: undefined };
  const tell = (p: DownloadState) => {
    flight.last = p;
    for (const l of flight.listeners) l(p);
  };
  flight.work = (async () => {
    const signal = controller.signal;
    try {
      const release = await limiterFor(ctx).acquire(signal, () => tell({ state: 'waiting' }));
      try {
        await ctx.content.ingest(expected, async () => {
          const stream = await source.client.fetchBlob(source.repository, expected.digest, { size: expected.size, signal });
          return counted(stream, expected.size, tell, tap);
        });
      } finally {
        release();
      }
    } catch (err) {
      tap?.fail(err);
      throw err;
    }
    tell({ state: 'complete' });
  })();
  running.set(expected.digest, flight);
  const cleanup = () => {
    if (running.get(expected.digest) === flight) running.delete(expected.digest);
  };
  flight.work.then(cleanup, cleanup);
  return flight;
}

async function* counted(stream: AsyncIterable<Uint8Array>, total: number, tell: (p: DownloadState) => void, tap: Tap | undefined): AsyncGenerator<Uint8Array> {
  let current = 0;
  for await (const chunk of stream) {
    current += chunk.length;
    tell({ state: 'downloading', current, total });
    yield chunk;
    if (tap) await tap.push(chunk);
  }
  tap?.end();
  // The client's stream has checked size and digest before it ended; the store checks again on commit.
  tell({ state: 'verifying' });
}

function join(flight: Flight, options: { signal?: AbortSignal; onProgress?: DownloadListener }): Promise<void> {
  const { signal, onProgress } = options;
  if (onProgress) {
    flight.listeners.add(onProgress);
    if (flight.last) onProgress(flight.last);
  }
  return joinShared(flight, signal, () => onProgress && flight.listeners.delete(onProgress));
}
