import type { RegistryConfig } from '../config.js';
import { parseDuration } from '../duration.js';
import type { Logger } from '../log.js';
import type { Registry } from '../registry/registry.js';
import { collectGarbage, type CollectReport } from './collect.js';
import { purgeStaleUploads } from './uploads.js';

export interface GcConfig {
  /** How often the online collector runs ("24h"); absent or "0" disables it. */
  interval?: string;
  /** Unreferenced blobs younger than this are kept. */
  graceperiod?: string;
  deleteuntagged?: boolean;
}

export interface Maintenance {
  stop(): Promise<void>;
  /** The last collector report, for metrics and logs. */
  lastReport(): CollectReport | undefined;
  /** Totals since start, for metrics. */
  totals(): { runs: number; freedBytes: number; deletedBlobs: number; purgedUploads: number };
}

/**
 * Background maintenance while serving: online garbage collection (`gc.interval`) and
 * distribution's upload purging (`storage.maintenance.uploadpurging`, on by default: 168h age, every 24h).
 */
export function startMaintenance(registry: Registry, config: RegistryConfig, log: Logger): Maintenance {
  const timers: NodeJS.Timeout[] = [];
  const abort = new AbortController();
  let running: Promise<unknown> = Promise.resolve();
  let last: CollectReport | undefined;
  const totals = { runs: 0, freedBytes: 0, deletedBlobs: 0, purgedUploads: 0 };
  const serial = (task: () => Promise<unknown>) => {
    running = running.then(task).catch((err) => log.error({ err: (err as Error).message }, 'maintenance task failed'));
  };

  const gc = (config.gc ?? {}) as GcConfig;
  const gcInterval = gc.interval === undefined ? 0 : parseDuration(gc.interval, 'gc.interval');
  if (gcInterval > 0) {
    const grace = gc.graceperiod === undefined ? 3600_000 : parseDuration(gc.graceperiod, 'gc.graceperiod');
    timers.push(
      setInterval(() => serial(async () => {
        last = await collectGarbage(registry, { gracePeriodMs: grace, deleteUntagged: Boolean(gc.deleteuntagged), log, signal: abort.signal });
        totals.runs++;
        totals.freedBytes += last.bytesFreed;
        totals.deletedBlobs += last.blobsDeleted;
      }), gcInterval),
    );
  }

  const purging = (config.storage.maintenance?.uploadpurging ?? {}) as { enabled?: boolean; age?: string; interval?: string; dryrun?: boolean };
  if (purging.enabled !== false) {
    const age = parseDuration(purging.age ?? '168h', 'storage.maintenance.uploadpurging.age');
    const every = parseDuration(purging.interval ?? '24h', 'storage.maintenance.uploadpurging.interval');
    const purge = async () => {
      totals.purgedUploads += (await purgeStaleUploads(registry, age, { dryRun: Boolean(purging.dryrun), log })).purged.length;
    };
    if (every > 0) timers.push(setInterval(() => serial(purge), every));
  }
  for (const t of timers) t.unref();
  return {
    async stop() {
      for (const t of timers) clearInterval(t);
      abort.abort();
      await running;
    },
    lastReport: () => last,
    totals: () => ({ ...totals }),
  };
}
