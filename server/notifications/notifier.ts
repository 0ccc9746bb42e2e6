import { TsdError } from '../../shared/errors.js';
import { parseDuration } from '../duration.js';
import type { Logger } from '../log.js';
import { NotificationEndpoint, type EndpointConfig } from './endpoint.js';
import type { RegistryEvent } from './events.js';

interface EndpointYaml {
  name?: string;
  url?: string;
  disabled?: boolean;
  headers?: Record<string, string[] | string>;
  timeout?: string;
  threshold?: number;
  backoff?: string;
  ignoredmediatypes?: string[];
  ignore?: { mediatypes?: string[]; actions?: string[] };
  queuesize?: number;
}

/** Fans registry events out to distribution-style `notifications.endpoints`. */
export class Notifier {
  readonly endpoints: NotificationEndpoint[];

  constructor(config: unknown, log: Logger) {
    const section = (config ?? {}) as { endpoints?: EndpointYaml[] };
    if (section.endpoints !== undefined && !Array.isArray(section.endpoints)) throw new TsdError('CONFIG_INVALID', 'notifications.endpoints must be a list');
    this.endpoints = (section.endpoints ?? [])
      .filter((e) => !e.disabled)
      .map((e, i) => {
        if (typeof e.url !== 'string' || !/^https?:\/\//.test(e.url)) throw new TsdError('CONFIG_INVALID', `notifications.endpoints[${i}].url must be an http(s) URL`);
        const c: EndpointConfig = {
          name: e.name ?? e.url,
          url: e.url,
          timeoutMs: parseDuration(e.timeout ?? '1s', `notifications.endpoints[${i}].timeout`),
          threshold: e.threshold ?? 10,
          backoffMs: parseDuration(e.backoff ?? '1s', `notifications.endpoints[${i}].backoff`),
          ignoredMediaTypes: [...(e.ignoredmediatypes ?? []), ...(e.ignore?.mediatypes ?? [])],
          ignoredActions: e.ignore?.actions ?? [],
          queueSize: e.queuesize ?? 10_000,
        };
        if (e.headers) c.headers = e.headers;
        return new NotificationEndpoint(c, log);
      });
  }

  get enabled(): boolean {
    return this.endpoints.length > 0;
  }

  emit(event: RegistryEvent): void {
    for (const e of this.endpoints) if (e.accepts(event)) e.enqueue(event);
  }

  stats(): Record<string, number> {
    const total = { delivered: 0, failures: 0, dropped: 0, pending: 0 };
    for (const e of this.endpoints) {
      total.delivered += e.stats.delivered;
      total.failures += e.stats.failures;
      total.dropped += e.stats.dropped;
      total.pending += e.pending();
    }
    return total;
  }

  stop(): void {
    for (const e of this.endpoints) e.stop();
  }
}
