import { TsdError } from '../../shared/errors.js';
import { loadConfig } from '../config.js';
import { parseDuration } from '../duration.js';
import { createLogger } from '../log.js';
import { openRegistry } from '../open-registry.js';
import { collectGarbage } from './collect.js';
import type { GcConfig } from './schedule.js';
import { purgeStaleUploads } from './uploads.js';

/**
 * `tsdocker-registry garbage-collect [--dry-run|-d] [--delete-untagged|-m] [--grace DURATION] CONFIG`,
 * distribution's command and flags; safe to run while the registry serves the same storage.
 */
export async function garbageCollectCommand(args: string[], out: NodeJS.WritableStream = process.stdout): Promise<number> {
  let dryRun = false;
  let deleteUntagged: boolean | undefined;
  let grace: string | undefined;
  let purgeAge: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--dry-run' || a === '-d') dryRun = true;
    else if (a === '--delete-untagged' || a === '-m') deleteUntagged = true;
    else if (a === '--grace') grace = args[++i];
    else if (a === '--purge-uploads-older-than') purgeAge = args[++i];
    else if (a.startsWith('-')) throw new TsdError('INVALID_ARGUMENT', `unknown flag ${a}`);
    else positional.push(a);
  }
  if (positional.length !== 1) throw new TsdError('INVALID_ARGUMENT', 'usage: tsdocker-registry garbage-collect [--dry-run] [--delete-untagged] [--grace 1h] CONFIG');
  const config = await loadConfig(positional[0]);
  const gc = (config.gc ?? {}) as GcConfig;
  const { registry } = await openRegistry(config);
  const report = await collectGarbage(registry, {
    dryRun,
    deleteUntagged: deleteUntagged ?? Boolean(gc.deleteuntagged),
    gracePeriodMs: parseDuration(grace ?? gc.graceperiod ?? '1h', 'grace'),
    log: createLogger('warn'),
  });
  for (const d of report.deleted) out.write(`blob ${dryRun ? 'eligible for deletion' : 'deleted'}: ${d.digest} (${d.size} bytes)\n`);
  out.write(
    `${report.repositories} repositories, ${report.manifestsMarked} manifests marked, ${report.blobsMarked} blobs marked, ` +
      `${report.blobsDeleted} of ${report.blobsScanned} blobs ${dryRun ? 'eligible for deletion' : 'deleted'}` +
      `${report.manifestsDeleted ? `, ${report.manifestsDeleted} untagged manifests ${dryRun ? 'eligible for deletion' : 'deleted'}` : ''}, ` +
      `${report.bytesFreed} bytes ${dryRun ? 'would be freed' : 'freed'}${report.blobsRestored ? `, ${report.blobsRestored} restored` : ''} in ${report.durationMs} ms\n`,
  );
  if (purgeAge !== undefined) {
    const { purged, swept } = await purgeStaleUploads(registry, parseDuration(purgeAge, '--purge-uploads-older-than'), { dryRun });
    out.write(`${purged.length} stale uploads ${dryRun ? 'would be purged' : 'purged'}\n`);
    if (swept.length > 0) out.write(`${swept.length} leftovers of interrupted writes ${dryRun ? 'would be removed' : 'removed'}\n`);
  }
  return 0;
}
