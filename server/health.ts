import { isNotFound } from '../shared/errors.js';
import { registryRoot } from '../shared/paths.js';
import type { StorageBackend } from '../shared/storage-backend.js';
import type { Logger } from './log.js';

export interface HealthStatus {
  ok: boolean;
  checks: Record<string, { ok: boolean; lastChecked?: string; error?: string; consecutiveFailures: number }>;
}

/**
 * distribution's storage driver health check: every `interval`, reach the storage; after
 * `threshold` failures in a row the registry reports itself unhealthy until a check passes.
 */
export class StorageHealth {
  private failures = 0;
  private lastChecked: Date | undefined;
  private lastError: string | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly backend: StorageBackend,
    private readonly intervalMs: number,
    private readonly threshold: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    void this.check();
    this.timer = setInterval(() => void this.check(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async check(): Promise<void> {
    try {
      await this.backend.stat(registryRoot).catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
      if (this.failures >= this.threshold) this.log.info('storage is reachable again');
      this.failures = 0;
      this.lastError = undefined;
    } catch (err) {
      this.failures++;
      this.lastError = (err as Error).message;
      if (this.failures === this.threshold) this.log.error({ err: this.lastError }, 'storage health check failing');
    }
    this.lastChecked = new Date();
  }

  status(): HealthStatus {
    const ok = this.failures < this.threshold;
    const check: HealthStatus['checks'][string] = { ok, consecutiveFailures: this.failures };
    if (this.lastChecked) check.lastChecked = this.lastChecked.toISOString();
    if (this.lastError) check.error = this.lastError;
    return { ok, checks: { storagedriver: check } };
  }
}
