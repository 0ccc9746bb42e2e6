/**
 * The worker-thread side of UnpackPool: receives one layer job at a time, runs applyLayer here
 * (decompression, hashing, tar parsing and every filesystem call off the main thread) and reports
 * the result. The layer comes either as a file path (read here) or as chunks posted by the main
 * thread with a small credit window (an `ack` per chunk consumed) so memory stays bounded.
 */
import { parentPort } from 'node:worker_threads';
import { applyLayer, type ApplyOptions } from './apply.js';
import { serializeError, type ToWorker } from './protocol.js';

const port = parentPort;
if (!port) throw new Error('engine/unpack/worker.js must run in a worker thread');

let feed: ChunkFeed | undefined;
let abort: AbortController | undefined;

class ChunkFeed implements AsyncIterable<Uint8Array> {
  private readonly queue: Uint8Array[] = [];
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  push(chunk: Uint8Array): void {
    this.queue.push(chunk);
    this.wake?.();
  }

  end(err?: Error): void {
    this.ended = true;
    this.failure = err;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk) {
        port!.postMessage({ t: 'ack' });
        yield chunk;
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

port.on('message', (msg: ToWorker) => {
  switch (msg.t) {
    case 'start': {
      abort = new AbortController();
      const options: ApplyOptions = { ...msg.options, signal: abort.signal };
      let source: string | ChunkFeed;
      if (msg.path !== undefined) {
        source = msg.path;
      } else {
        feed = new ChunkFeed();
        source = feed;
      }
      applyLayer(msg.root, source, options).then(
        (result) => port.postMessage({ t: 'done', result }),
        (err: unknown) => port.postMessage({ t: 'fail', error: serializeError(err) }),
      ).finally(() => {
        feed = undefined;
        abort = undefined;
      });
      return;
    }
    case 'chunk':
      feed?.push(msg.data);
      return;
    case 'end':
      feed?.end(msg.error === undefined ? undefined : new Error(`layer source failed: ${msg.error}`));
      return;
    case 'abort':
      abort?.abort(new Error(msg.reason));
      feed?.end(new Error(msg.reason));
      return;
  }
});
