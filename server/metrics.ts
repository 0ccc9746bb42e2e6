import client from 'prom-client';

/** A numeric snapshot a subsystem exposes (proxy counters, GC totals, cache statistics). */
export type Snapshot = () => Record<string, number>;

/**
 * Prometheus metrics: requests by route, method and status, latency histograms, bytes in and out,
 * and counters read from subsystems at scrape time (caches, pull-through, garbage collection).
 */
export class RegistryMetrics {
  readonly registry = new client.Registry();
  private readonly requests: client.Counter<'route' | 'method' | 'status'>;
  private readonly latency: client.Histogram<'route' | 'method'>;
  private readonly bytesIn: client.Counter<'route'>;
  private readonly bytesOut: client.Counter<'route'>;

  constructor() {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'registry_process_' });
    this.requests = new client.Counter({ name: 'registry_http_requests_total', help: 'HTTP requests by route, method and status', labelNames: ['route', 'method', 'status'], registers: [this.registry] });
    this.latency = new client.Histogram({
      name: 'registry_http_request_duration_seconds',
      help: 'Time to the end of the response, by route and method',
      labelNames: ['route', 'method'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [this.registry],
    });
    this.bytesIn = new client.Counter({ name: 'registry_http_request_bytes_total', help: 'Request body bytes received, by route', labelNames: ['route'], registers: [this.registry] });
    this.bytesOut = new client.Counter({ name: 'registry_http_response_bytes_total', help: 'Response body bytes sent, by route', labelNames: ['route'], registers: [this.registry] });
  }

  observe(route: string, method: string, status: number, seconds: number, bytesIn: number, bytesOut: number): void {
    this.requests.inc({ route, method, status: String(status) });
    this.latency.observe({ route, method }, seconds);
    if (bytesIn > 0) this.bytesIn.inc({ route }, bytesIn);
    if (bytesOut > 0) this.bytesOut.inc({ route }, bytesOut);
  }

  /**
   * Expose a subsystem's monotonic counters as `registry_<prefix>_<key>_total`, read at scrape time.
   * Keys are fixed by the first snapshot.
   */
  addCounters(prefix: string, help: string, snapshot: Snapshot): void {
    for (const key of Object.keys(snapshot())) {
      new client.Counter({
        name: `registry_${prefix}_${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}_total`,
        help: `${help}: ${key}`,
        registers: [this.registry],
        collect() {
          this.reset();
          this.inc(snapshot()[key] ?? 0);
        },
      });
    }
  }

  /** A gauge read at scrape time. */
  addGauge(name: string, help: string, read: () => number): void {
    new client.Gauge({ name: `registry_${name}`, help, registers: [this.registry], collect() { this.set(read()); } });
  }

  async text(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }
}
