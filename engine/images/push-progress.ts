/**
 * Push's progress lines, as dockerd writes them: one row per layer, named by the short DiffID,
 * going Preparing -> (Waiting) -> Pushing [bar] -> Pushed, or straight to `Layer already exists` /
 * `Mounted from REPO`. Byte counts are those of the blob as sent (compressed layers stay compressed).
 */
import { Transform, type TransformCallback } from 'node:stream';
import { progressMessage, statusMessage, type MessageSink } from './json-message.js';

/** dockerd's progress reader: at most one bar update per 100 ms, except the first and the last. */
const updateIntervalMs = 100;

export class LayerProgress {
  private current = 0;
  private lastUpdate = 0;

  constructor(
    private readonly sink: MessageSink,
    readonly id: string,
    readonly total: number,
  ) {}

  status(status: string): void {
    this.sink(statusMessage(this.id, status));
  }

  /** A pass-through stream that reports the bytes flowing through it (one per upload attempt). */
  counter(): Transform {
    this.current = 0;
    this.lastUpdate = 0;
    return new Transform({
      transform: (chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) => {
        this.current += chunk.length;
        const now = Date.now();
        if (this.lastUpdate === 0 || now - this.lastUpdate >= updateIntervalMs || this.current === this.total) {
          this.lastUpdate = now;
          this.sink(progressMessage(this.id, 'Pushing', this.current, this.total));
        }
        done(null, chunk);
      },
    });
  }
}

/** Where the lines go; a push without a sink still runs the same code. */
export function sinkOf(onMessage: MessageSink | undefined): MessageSink {
  return onMessage ?? (() => {});
}
