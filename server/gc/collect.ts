import { randomBytes } from 'node:crypto';
import { isDigest, type Digest } from '../../shared/digest.js';
import { mapLimit } from '../../shared/concurrency.js';
import { isNotFound } from '../../shared/errors.js';
import { parseManifest } from '../../shared/manifest.js';
import { blobsRoot, paths } from '../../shared/paths.js';
import { isTag } from '../../shared/reference.js';
import type { Logger } from '../log.js';
import { deleteIfExists, listLinkedDigests, listNames, readLink } from '../registry/links.js';
import type { Registry } from '../registry/registry.js';

export interface CollectOptions {
  /** Report what would go, change nothing. */
  dryRun?: boolean;
  /** Also remove manifests no tag reaches (directly or through an index or as a referrer). */
  deleteUntagged?: boolean;
  /** Blobs younger than this are kept even when unreferenced: uploads finished but not yet used. */
  gracePeriodMs?: number;
  log?: Logger;
  signal?: AbortSignal;
  /** Test hook: runs after blobs were moved to the trash, before the second mark. */
  afterTrash?: () => Promise<void>;
}

export interface CollectReport {
  dryRun: boolean;
  repositories: number;
  manifestsMarked: number;
  blobsMarked: number;
  blobsScanned: number;
  blobsDeleted: number;
  blobsRestored: number;
  bytesFreed: number;
  manifestsDeleted: number;
  /** Digests that went (or would go), for --dry-run output. */
  deleted: Array<{ digest: Digest; size: number }>;
  durationMs: number;
}

const trashRoot = 'tsdocker/gc-trash';

/**
 * Mark and sweep, safe while the registry serves:
 * 1. mark every manifest revision of every repository (and what it references);
 * 2. unmarked blobs older than the grace period are moved to a trash area;
 * 3. mark again: a manifest pushed meanwhile may reference a trashed blob, which is restored;
 * 4. the rest is deleted from the trash (blob paths and links are never touched after step 2).
 * A manifest PUT re-checks its blobs after writing (see RepositoryManifests.put), so a push that
 * reuses an orphan blob either sees it trashed and fails cleanly, or is seen by step 3.
 */
export async function collectGarbage(registry: Registry, options: CollectOptions = {}): Promise<CollectReport> {
  const started = Date.now();
  const backend = registry.backend;
  const grace = options.gracePeriodMs ?? 60 * 60 * 1000;
  const log = options.log;
  const report: CollectReport = {
    dryRun: Boolean(options.dryRun),
    repositories: 0,
    manifestsMarked: 0,
    blobsMarked: 0,
    blobsScanned: 0,
    blobsDeleted: 0,
    blobsRestored: 0,
    bytesFreed: 0,
    manifestsDeleted: 0,
    deleted: [],
    durationMs: 0,
  };
  const checkAbort = () => options.signal?.throwIfAborted();

  // A run that died between trashing and purging left blobs in the trash: put them all back first.
  if (!options.dryRun) await restoreLeftoverTrash(registry);
  const first = await mark(registry, options, report);
  checkAbort();
  const cutoff = started - grace;
  const candidates: Array<{ digest: Digest; size: number }> = [];
  for await (const file of backend.walk(blobsRoot)) {
    // blobs/<alg>/<2 hex>/<hex>/data
    const parts = file.path.slice(blobsRoot.length + 1).split('/');
    if (parts.length !== 4 || parts[3] !== 'data') continue;
    const digest = `${parts[0]}:${parts[2]}`;
    if (!isDigest(digest)) continue;
    report.blobsScanned++;
    if (first.has(digest) || file.modifiedAt.getTime() > cutoff) continue;
    candidates.push({ digest, size: file.size });
  }
  report.blobsMarked = first.size;
  if (options.dryRun) {
    report.deleted = candidates;
    report.blobsDeleted = candidates.length;
    report.bytesFreed = candidates.reduce((n, c) => n + c.size, 0);
    report.durationMs = Date.now() - started;
    return report;
  }

  const run = `${new Date(started).toISOString().replace(/[:.]/g, '-')}-${randomBytes(3).toString('hex')}`;
  const trashPath = (d: Digest) => `${trashRoot}/${run}/${d.replace(':', '/')}`;
  const trashed: Array<{ digest: Digest; size: number }> = [];
  // Trash moves need no fsync: after a crash the next run restores the trash before it marks.
  await mapLimit(candidates, 16, async (c) => {
    checkAbort();
    try {
      await backend.move(paths.blobData(c.digest), trashPath(c.digest), { durable: false });
      trashed.push(c);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  });
  await options.afterTrash?.();
  // The second mark sees manifests pushed while the first one ran or while blobs were trashed.
  const second = await mark(registry, { ...options, deleteUntagged: false }, undefined);
  const gone = new Set<Digest>();
  for (const t of trashed) {
    if (second.has(t.digest)) {
      await backend.move(trashPath(t.digest), paths.blobData(t.digest));
      report.blobsRestored++;
      log?.warn({ digest: t.digest }, 'garbage collection: blob referenced by a manifest pushed during the run, restored');
    } else {
      gone.add(t.digest);
      report.deleted.push(t);
      report.bytesFreed += t.size;
    }
  }
  report.blobsDeleted = gone.size;
  // Only the trashed copies go. The blob paths and repository links are left alone: a client may
  // have pushed the same blob again since the second mark (its data and link must survive), and a
  // link whose data is gone already answers 404 and is refused by a manifest PUT's re-check.
  await deleteIfExists(backend, `${trashRoot}/${run}`);
  report.durationMs = Date.now() - started;
  log?.info({ ...report, deleted: report.deleted.length }, 'garbage collection finished');
  return report;
}

/** Move every blob a previous, interrupted run left in the trash back to its place. */
async function restoreLeftoverTrash(registry: Registry): Promise<void> {
  const backend = registry.backend;
  const leftovers: string[] = [];
  for await (const f of backend.walk(trashRoot)) leftovers.push(f.path);
  for (const path of leftovers) {
    // tsdocker/gc-trash/<run>/<alg>/<hex>
    const [alg, hex] = path.split('/').slice(-2);
    const digest = `${alg}:${hex}`;
    if (!isDigest(digest)) continue;
    await backend.move(path, paths.blobData(digest));
  }
  if (leftovers.length > 0) await deleteIfExists(backend, trashRoot);
}

/** Every blob digest some manifest revision needs (manifests included); untagged manifests optionally removed. */
async function mark(registry: Registry, options: CollectOptions, report: CollectReport | undefined): Promise<Set<Digest>> {
  const backend = registry.backend;
  const marked = new Set<Digest>();
  const repositories = await registry.repositories();
  if (report) report.repositories = repositories.length;
  for (const name of repositories) {
    options.signal?.throwIfAborted();
    const revisions = await listLinkedDigests(backend, paths.manifestRevisionsRoot(name));
    const content = new Map<Digest, ReturnType<typeof parseManifest> | undefined>();
    const load = async (d: Digest) => {
      if (!content.has(d)) {
        content.set(d, await registry.store.get(d).then((raw) => parseManifest(raw), () => undefined));
      }
      return content.get(d);
    };
    await mapLimit(revisions, 16, load);
    let keep = new Set<Digest>(revisions);
    if (options.deleteUntagged) {
      keep = new Set();
      const queue: Digest[] = [];
      for (const tag of (await listNames(backend, paths.tagsRoot(name))).filter(isTag)) {
        const d = await readLink(backend, paths.tagCurrentLink(name, tag));
        if (d) queue.push(d);
      }
      // Reachable: tagged, children of reachable indexes, and referrers of reachable manifests.
      const referrersOf = new Map<Digest, Digest[]>();
      for (const r of revisions) {
        const m = await load(r);
        if (m?.subject) referrersOf.set(m.subject.digest, [...(referrersOf.get(m.subject.digest) ?? []), r]);
      }
      while (queue.length > 0) {
        const d = queue.pop()!;
        if (keep.has(d)) continue;
        keep.add(d);
        const m = await load(d);
        for (const child of m?.manifests ?? []) queue.push(child.digest);
        queue.push(...(referrersOf.get(d) ?? []));
      }
      for (const r of revisions) {
        if (keep.has(r)) continue;
        // A manifest pushed moments ago by digest (an index's child on its way) is not yet reachable.
        const link = await backend.stat(paths.manifestRevisionLink(name, r)).catch(() => undefined);
        if (link && Date.now() - link.modifiedAt.getTime() < (options.gracePeriodMs ?? 3600_000)) {
          keep.add(r);
          continue;
        }
        if (report) report.manifestsDeleted++;
        if (!options.dryRun) await registry.manifests.deleteByDigest(name, r).catch(() => undefined);
      }
    }
    for (const d of keep) {
      marked.add(d);
      if (report) report.manifestsMarked++;
      const m = await load(d);
      for (const b of m?.blobs ?? []) marked.add(b.digest);
      for (const c of m?.manifests ?? []) marked.add(c.digest);
    }
  }
  return marked;
}
