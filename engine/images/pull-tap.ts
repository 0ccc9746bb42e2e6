/**
 * A tap on a download: the bytes of a blob handed to a second reader (the unpack of the bottom
 * layer) while they are written to the content store, so extraction need not wait for the whole
 * download. A bounded queue: once the reader has started, the download waits when the reader is
 * more than `limit` bytes behind (the reader, an unpack worker, waits on nothing but this tap, so
 * that cannot deadlock). Before the reader starts (it may be queued for a worker), the download
 * never waits: past `limit` the tap lets go, and the reader reads the stored blob instead. The
 * reader may stop at any time (`detach`): the download then goes on alone.
 */
export class Tap implements AsyncIterable<Uint8Array> {
  private queue: Uint8Array[] = [];
  private queued = 0;
  private ended = false;
  private failure: { error: unknown } | undefined;
  private detached = false;
  private started = false;
  private wakeReader: (() => void) | undefined;
  private wakeWriter: (() => void) | undefined;

  constructor(private readonly limit = 8 << 20) {}

  private wake(which: 'reader' | 'writer'): void {
    const fn = which === 'reader' ? this.wakeReader : this.wakeWriter;
    if (which === 'reader') this.wakeReader = undefined;
    else this.wakeWriter = undefined;
    fn?.();
  }

  /** Writer side: queue a chunk; resolves once the reader is close enough behind. */
  async push(chunk: Uint8Array): Promise<void> {
    if (this.detached) return;
    this.queue.push(chunk);
    this.queued += chunk.length;
    if (!this.started && this.queued > this.limit) {
      this.detach();
      return;
    }
    this.wake('reader');
    while (this.queued > this.limit && !this.detached) await new Promise<void>((r) => (this.wakeWriter = r));
  }

  end(): void {
    this.ended = true;
    this.wake('reader');
  }

  fail(error: unknown): void {
    this.failure ??= { error };
    this.wake('reader');
  }

  /** Reader side: begin reading; false when the tap has already let go (read the stored blob then). */
  start(): boolean {
    if (this.detached) return false;
    this.started = true;
    return true;
  }

  /** Reader side: stop reading (a reader waiting for data ends); the writer is never held up again. */
  detach(): void {
    this.detached = true;
    this.queue = [];
    this.queued = 0;
    this.wake('writer');
    this.wake('reader');
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    try {
      for (;;) {
        if (this.detached) return;
        const chunk = this.queue.shift();
        if (chunk) {
          this.queued -= chunk.length;
          if (this.queued <= this.limit) this.wake('writer');
          yield chunk;
          continue;
        }
        if (this.failure) throw this.failure.error;
        if (this.ended) return;
        await new Promise<void>((r) => (this.wakeReader = r));
      }
    } finally {
      this.detach();
    }
  }
}
