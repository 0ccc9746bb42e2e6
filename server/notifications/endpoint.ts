import type { Logger } from '../log.js';
import { envelopeMediaType, type RegistryEvent } from './events.js';

export interface EndpointConfig {
  name: string;
  url: string;
  headers?: Record<string, string[] | string>;
  /** Request timeout, ms. */
  timeoutMs: number;
  /** Failures in a row before backing off. */
  threshold: number;
  /** Wait after `threshold` failures, ms (doubles per failed round, capped at 60 s). */
  backoffMs: number;
  ignoredMediaTypes: string[];
  ignoredActions: string[];
  /** Events waiting at most; the oldest are dropped past it. */
  queueSize: number;
}

/**
 * One webhook endpoint: a bounded queue drained by one sender, one event per envelope, retried
 * until the endpoint accepts it (2xx), with back-off; events past the bound are dropped (counted).
 */
export class NotificationEndpoint {
  private readonly queue: RegistryEvent[] = [];
  private sending = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  readonly stats = { delivered: 0, failures: 0, dropped: 0 };

  constructor(
    readonly config: EndpointConfig,
    private readonly log: Logger,
  ) {}

  accepts(event: RegistryEvent): boolean {
    if (this.config.ignoredActions.includes(event.action)) return false;
    return !(event.target.mediaType && this.config.ignoredMediaTypes.includes(event.target.mediaType));
  }

  enqueue(event: RegistryEvent): void {
    if (this.stopped) return;
    if (this.queue.length >= this.config.queueSize) {
      this.queue.shift();
      this.stats.dropped++;
      if (this.stats.dropped === 1 || this.stats.dropped % 100 === 0) {
        this.log.warn({ endpoint: this.config.name, dropped: this.stats.dropped }, 'notification queue full: oldest events dropped');
      }
    }
    this.queue.push(event);
    if (!this.sending) void this.drain();
    else this.wake?.();
  }

  private async post(event: RegistryEvent): Promise<boolean> {
    const headers: Record<string, string> = { 'Content-Type': envelopeMediaType };
    for (const [k, v] of Object.entries(this.config.headers ?? {})) headers[k] = Array.isArray(v) ? v.join(', ') : v;
    try {
      const res = await fetch(this.config.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ events: [event] }),
        signal: AbortSignal.timeout(this.config.timeoutMs),
        redirect: 'manual',
      });
      await res.arrayBuffer().catch(() => undefined);
      return res.status >= 200 && res.status < 300;
    } catch {
      return false;
    }
  }

  private async drain(): Promise<void> {
    this.sending = true;
    let failuresInRow = 0;
    let backoff = this.config.backoffMs;
    while (!this.stopped && this.queue.length > 0) {
      const event = this.queue[0]!;
      if (await this.post(event)) {
        if (this.queue[0] === event) this.queue.shift();
        this.stats.delivered++;
        failuresInRow = 0;
        backoff = this.config.backoffMs;
        continue;
      }
      this.stats.failures++;
      failuresInRow++;
      if (failuresInRow >= this.config.threshold) {
        this.log.warn({ endpoint: this.config.name, url: this.config.url, waitMs: backoff }, 'notification endpoint failing; backing off');
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, backoff);
          timer.unref();
        });
        backoff = Math.min(backoff * 2, 60_000);
        failuresInRow = 0;
      }
    }
    this.sending = false;
  }

  pending(): number {
    return this.queue.length;
  }

  stop(): void {
    this.stopped = true;
  }
}
