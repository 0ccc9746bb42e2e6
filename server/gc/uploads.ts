import { isNotFound } from '../../shared/errors.js';
import { isUploadId, paths } from '../../shared/paths.js';
import type { Logger } from '../log.js';
import { deleteIfExists, listNames } from '../registry/links.js';
import type { Registry } from '../registry/registry.js';

/**
 * Remove upload sessions started more than `maxAgeMs` ago (distribution's upload purging).
 * An upload's age is its `startedat` content, or its data's modification time when that is missing.
 */
export async function purgeStaleUploads(registry: Registry, maxAgeMs: number, options: { dryRun?: boolean; log?: Logger } = {}): Promise<{ purged: string[]; swept: string[] }> {
  const backend = registry.backend;
  const cutoff = Date.now() - maxAgeMs;
  const purged: string[] = [];
  for (const name of await registry.repositories({ all: true })) {
    for (const id of await listNames(backend, paths.uploadsRoot(name))) {
      if (!isUploadId(id)) continue;
      let started: number | undefined;
      try {
        started = Date.parse((await backend.getContent(paths.uploadStartedAt(name, id))).toString('utf8'));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      if (started === undefined || Number.isNaN(started)) {
        started = await backend.stat(paths.uploadData(name, id)).then((i) => i.modifiedAt.getTime(), () => 0);
      }
      if (started >= cutoff) continue;
      purged.push(`${name}/${id}`);
      if (!options.dryRun) await deleteIfExists(backend, paths.uploadDir(name, id));
    }
  }
  // Debris of writes a crash interrupted is as stale as an upload of the same age.
  const swept = (await backend.sweepTemporaries?.(maxAgeMs, { dryRun: Boolean(options.dryRun) })) ?? [];
  if (purged.length + swept.length > 0) options.log?.info({ purged: purged.length, swept: swept.length, dryRun: Boolean(options.dryRun) }, 'stale uploads purged');
  return { purged, swept };
}
