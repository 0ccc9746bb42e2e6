import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { StorageBackend } from '../shared/storage-backend.js';
import type { RegistryConfig } from './config.js';
import { parseListenAddress } from './config.js';
import { parseDuration } from './duration.js';
import type { Maintenance } from './gc/schedule.js';
import { StorageHealth } from './health.js';
import { sendJSON } from './http.js';
import type { Logger } from './log.js';
import { RegistryMetrics } from './metrics.js';
import { Notifier } from './notifications/notifier.js';
import type { Registry } from './registry/registry.js';

/**
 * Answer /health (and /debug/health) and the metrics path, on whichever listener serves them.
 * Returns the route name when the path was one of them, undefined otherwise.
 */
export function answerOperations(
  path: string,
  res: ServerResponse,
  ops: { metrics?: RegistryMetrics | undefined; metricsPath?: string | undefined; health?: StorageHealth | undefined },
  onError: (err: unknown) => void,
): 'health' | 'metrics' | undefined {
  if (path === '/health' || path === '/debug/health') {
    const status = ops.health?.status() ?? { ok: true, checks: {} };
    sendJSON(res, status.ok ? 200 : 503, { status: status.ok ? 'ok' : 'unhealthy', checks: status.checks });
    return 'health';
  }
  if (ops.metrics && path === ops.metricsPath) {
    void ops.metrics.text().then(({ body, contentType }) => {
      res.setHeader('Content-Type', contentType);
      res.end(body);
    }, onError);
    return 'metrics';
  }
  return undefined;
}

interface DebugConfig {
  addr?: string;
  prometheus?: { enabled?: boolean; path?: string };
}

interface HealthConfig {
  storagedriver?: { enabled?: boolean; interval?: string; threshold?: number };
}

/**
 * Metrics and health, with distribution's keys: `http.debug.addr` (a separate listener for
 * /metrics and /debug/health), `http.debug.prometheus.{enabled,path}`, and
 * `health.storagedriver.{enabled,interval,threshold}`. Without a debug listener, /metrics is
 * answered on the main one.
 */
export function setupOperations(config: RegistryConfig, registry: Registry, backend: StorageBackend, log: Logger) {
  const debug = (config.http as { debug?: DebugConfig }).debug ?? {};
  const metricsEnabled = debug.prometheus?.enabled !== false;
  const metricsPath = debug.prometheus?.path ?? '/metrics';
  const metrics = metricsEnabled ? new RegistryMetrics() : undefined;
  metrics?.addCounters('manifest_cache', 'Manifest content cache', () => ({ ...registry.manifests.cacheStats }));

  const healthConfig = ((config as { health?: HealthConfig }).health ?? {}).storagedriver ?? {};
  const health =
    healthConfig.enabled === false
      ? undefined
      : new StorageHealth(backend, parseDuration(healthConfig.interval ?? '10s', 'health.storagedriver.interval'), healthConfig.threshold ?? 3, log);
  health?.start();
  const notifier = new Notifier((config as { notifications?: unknown }).notifications, log);
  if (notifier.enabled) metrics?.addCounters('notifications', 'Notification delivery', () => notifier.stats());

  return {
    appOptions: {
      ...(notifier.enabled ? { notifier, sourceAddr: config.http.addr } : {}),
      ...(metrics ? { metrics } : {}),
      ...(metrics && !debug.addr ? { metricsPath } : {}),
      ...(health ? { health } : {}),
    },
    /** Read counters of the subsystems started after the app. */
    watch(sources: { maintenance: Maintenance; pullThrough?: object | undefined }) {
      if (!metrics) return;
      metrics.addCounters('gc', 'Garbage collection', () => sources.maintenance.totals());
      const proxy = sources.pullThrough as Record<string, unknown> | undefined;
      if (proxy) {
        const keys = ['hits', 'misses', 'upstreamFetches', 'upstreamRevalidations', 'upstreamErrors', 'staleServed', 'bytesFetched'];
        metrics.addCounters('proxy', 'Pull-through cache', () => Object.fromEntries(keys.map((k) => [k, Number(proxy[k] ?? 0)])));
      }
    },
    async startDebugListener(): Promise<{ close(): Promise<void> } | undefined> {
      if (!debug.addr) return undefined;
      const server = createServer((req: IncomingMessage, res: ServerResponse) => {
        const path = (req.url ?? '/').split('?', 1)[0]!;
        const answered = answerOperations(path, res, { metrics, metricsPath, health }, () => res.destroy());
        if (!answered) {
          res.statusCode = 404;
          res.end();
        }
      });
      const { host, port } = parseListenAddress(debug.addr);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, resolve);
      });
      log.info({ addr: debug.addr }, 'debug listener (metrics, health)');
      return { close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
    },
    stop() {
      health?.stop();
      notifier.stop();
    },
  };
}
