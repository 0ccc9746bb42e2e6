/**
 * UnpackPool: applies layers in worker threads, one layer per worker at a time, so a pull of
 * several layers uses every core and the engine's event loop (the daemon's API) never waits on
 * tar parsing, hashing or the synchronous filesystem calls. Idle workers are unref'd, so an idle
 * pool does not keep the process alive; close() ends them.
 *
 * Why workers, not only zlib streams: zlib already runs on the threadpool, but sha256 (~1.2 ms per
 * MiB on the main thread), tar parsing and thousands of synchronous *at() syscalls per layer would
 * otherwise all run on the main thread, and only one layer at a time would make progress there.
 */
import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { ApplyOptions, ApplyResult, LayerSource } from './apply.js';
import { deserializeError, type FromWorker, type ToWorker, type WireOptions } from './protocol.js';

interface Job {
  root: string;
  source: LayerSource;
  options: ApplyOptions;
  resolve(r: ApplyResult): void;
  reject(e: unknown): void;
}

const WINDOW = 4; // chunks posted to a worker and not yet consumed

class PoolWorker {
  readonly worker: Worker;
  busy = false;
  dead = false;
  private onMessage: ((m: FromWorker) => void) | undefined;
  private onDeath: ((err: Error) => void) | undefined;

  constructor() {
    this.worker = new Worker(new URL('./worker.js', import.meta.url));
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => this.onMessage?.(m));
    this.worker.on('error', (err) => this.die(err));
    this.worker.on('exit', (code) => this.die(new Error(`unpack worker exited with code ${code}`)));
  }

  private die(err: Error): void {
    if (this.dead) return;
    this.dead = true;
    this.onDeath?.(err);
  }

  post(msg: ToWorker, transfer?: ArrayBuffer[]): void {
    this.worker.postMessage(msg, transfer);
  }

  async run(job: Job): Promise<ApplyResult> {
    this.busy = true;
    this.worker.ref();
    const { signal, ...wire } = job.options;
    const options: WireOptions = wire;
    let inFlight = 0;
    let credit: (() => void) | undefined;
    let finished = false;
    const outcome = new Promise<ApplyResult>((resolve, reject) => {
      this.onMessage = (m) => {
        if (m.t === 'ack') {
          inFlight--;
          credit?.();
        } else if (m.t === 'done') {
          finished = true;
          resolve(m.result);
        } else {
          finished = true;
          reject(deserializeError(m.error));
        }
        if (finished) credit?.();
      };
      this.onDeath = (err) => {
        finished = true;
        credit?.();
        reject(err);
      };
    });
    const onAbort = (): void => this.post({ t: 'abort', reason: String((signal?.reason as Error | undefined)?.message ?? 'aborted') });
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      if (typeof job.source === 'string') {
        this.post({ t: 'start', root: job.root, path: job.source, options });
      } else {
        this.post({ t: 'start', root: job.root, options });
        const feeding = (async () => {
          const src = job.source;
          const iterable: AsyncIterable<Uint8Array> =
            src instanceof Uint8Array
              ? (async function* () {
                  for (let i = 0; i < src.length; i += 1 << 20) yield src.subarray(i, i + (1 << 20));
                })()
              : (src as AsyncIterable<Uint8Array>);
          try {
            for await (const chunk of iterable) {
              if (finished) break;
              while (inFlight >= WINDOW && !finished) await new Promise<void>((r) => (credit = r));
              credit = undefined;
              if (finished) break;
              const copy = new Uint8Array(chunk); // exact bytes: a Buffer may view a shared pool
              inFlight++;
              this.post({ t: 'chunk', data: copy }, [copy.buffer]);
            }
            if (!finished) this.post({ t: 'end' });
          } catch (err) {
            if (!finished) this.post({ t: 'end', error: (err as Error).message ?? String(err) });
          }
        })();
        outcome.catch(() => undefined);
        await feeding;
      }
      try {
        return await outcome;
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        throw err;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.onMessage = undefined;
      this.onDeath = undefined;
      this.busy = false;
      if (!this.dead) this.worker.unref();
      if (typeof job.source !== 'string' && job.source instanceof Readable) job.source.destroy();
    }
  }
}

export class UnpackPool {
  readonly size: number;
  private readonly workers: PoolWorker[] = [];
  private readonly queue: Job[] = [];
  private closed = false;

  constructor(options: { size?: number } = {}) {
    this.size = Math.max(1, options.size ?? Math.min(4, availableParallelism()));
  }

  /** Apply a layer in a worker; same contract as applyLayer. A string source is a file path. */
  apply(root: string, source: LayerSource, options: ApplyOptions): Promise<ApplyResult> {
    if (this.closed) return Promise.reject(new Error('UnpackPool is closed'));
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    return new Promise((resolve, reject) => {
      this.queue.push({ root, source, options, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    for (let i = this.workers.length - 1; i >= 0; i--) if (this.workers[i]!.dead) this.workers.splice(i, 1);
    while (this.queue.length > 0) {
      let w = this.workers.find((x) => !x.busy && !x.dead);
      if (!w && this.workers.length < this.size) {
        w = new PoolWorker();
        this.workers.push(w);
      }
      if (!w) return;
      const job = this.queue.shift()!;
      if (job.options.signal?.aborted) {
        job.reject(job.options.signal.reason);
        continue;
      }
      w.run(job).then(job.resolve, job.reject).finally(() => this.pump());
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error('UnpackPool closed'));
    await Promise.all(this.workers.map((w) => w.worker.terminate()));
    this.workers.length = 0;
  }
}
