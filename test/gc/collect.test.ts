import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { digestOf, type Digest } from '../../shared/digest.js';
import { isTsdError } from '../../shared/errors.js';
import { MediaTypes } from '../../shared/media-types.js';
import { paths } from '../../shared/paths.js';
import { FilesystemBackend } from '../../storage-backends/filesystem.js';
import { collectGarbage } from '../../server/gc/collect.js';
import { purgeStaleUploads } from '../../server/gc/uploads.js';
import { Registry } from '../../server/registry/registry.js';
import { tempDir } from '../helpers/env.js';

async function fresh(t: TestContext) {
  const root = await tempDir(t, 'tsd-gc-');
  const registry = new Registry(new FilesystemBackend(root));
  return { root, registry };
}

async function pushBlob(registry: Registry, name: string, data: Buffer): Promise<Digest> {
  const digest = digestOf(data);
  await registry.uploads.monolithic(name, digest, (async function* () { yield data; })());
  return digest;
}

/** An image whose config and layers are fresh random blobs; returns the manifest digest and blob digests. */
async function pushImage(registry: Registry, name: string, tag: string | undefined, options: { subject?: Digest; layerBytes?: number } = {}) {
  const layers = [randomBytes(options.layerBytes ?? 3000), randomBytes(options.layerBytes ?? 3000)];
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(4).toString('hex') }));
  const blobs = [await pushBlob(registry, name, config), ...(await Promise.all(layers.map((l) => pushBlob(registry, name, l))))];
  const manifest: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: blobs[0], size: config.length },
    layers: layers.map((l, i) => ({ mediaType: MediaTypes.ociLayerGzip, digest: blobs[i + 1], size: l.length })),
  };
  if (options.subject) manifest.subject = { mediaType: MediaTypes.ociManifest, digest: options.subject, size: 1 };
  const raw = Buffer.from(JSON.stringify(manifest));
  const digest = digestOf(raw);
  await registry.manifests.put(name, tag ? { kind: 'tag', tag } : { kind: 'digest', digest }, raw, MediaTypes.ociManifest);
  return { digest, blobs, bytes: layers.reduce((n, l) => n + l.length, config.length), manifestBytes: raw.length };
}

async function exists(registry: Registry, d: Digest): Promise<boolean> {
  return registry.backend.stat(paths.blobData(d)).then(() => true, () => false);
}

describe('garbage collection', () => {
  it('deletes only blobs no manifest references, reports freed bytes, and a dry run changes nothing', async (t) => {
    const { registry } = await fresh(t);
    const kept = await pushImage(registry, 'app', 'v1');
    const dropped = await pushImage(registry, 'app', 'v2');
    const orphan = await pushBlob(registry, 'app', randomBytes(5000));
    await registry.manifests.deleteByDigest('app', dropped.digest);

    const dry = await collectGarbage(registry, { dryRun: true, gracePeriodMs: 0 });
    assert.equal(dry.blobsDeleted, 5, 'the deleted manifest, its three blobs and the orphan');
    for (const d of [...dropped.blobs, dropped.digest, orphan]) assert.ok(await exists(registry, d), 'dry run deletes nothing');

    const report = await collectGarbage(registry, { gracePeriodMs: 0 });
    assert.equal(report.blobsDeleted, 5);
    assert.equal(report.bytesFreed, dropped.bytes + dropped.manifestBytes + 5000);
    for (const d of [...dropped.blobs, dropped.digest, orphan]) assert.equal(await exists(registry, d), false, `${d} deleted`);
    for (const d of [...kept.blobs, kept.digest]) assert.ok(await exists(registry, d), `${d} kept`);
    assert.equal((await registry.manifests.get('app', { kind: 'tag', tag: 'v1' })).digest, kept.digest);
    await assert.rejects(registry.blobs.stat('app', orphan), (e) => isTsdError(e, 'BLOB_UNKNOWN'), 'layer link of a deleted blob is gone');
  });

  it('keeps blobs younger than the grace period (uploaded, not yet referenced)', async (t) => {
    const { registry, root } = await fresh(t);
    const young = await pushBlob(registry, 'app', randomBytes(100));
    const old = await pushBlob(registry, 'app', randomBytes(100));
    const past = new Date(Date.now() - 2 * 3600_000);
    await utimes(join(root, paths.blobData(old)), past, past);
    const report = await collectGarbage(registry, { gracePeriodMs: 3600_000 });
    assert.deepEqual(report.deleted.map((d) => d.digest), [old]);
    assert.ok(await exists(registry, young));
  });

  it('keeps blobs shared with another repository and manifests reached through an index', async (t) => {
    const { registry } = await fresh(t);
    const image = await pushImage(registry, 'a', undefined);
    for (const d of image.blobs) await registry.blobs.mount('b', d, 'a');
    const raw = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [{ mediaType: MediaTypes.ociManifest, digest: image.digest, size: 1 }] }));
    await registry.manifests.put('a', { kind: 'tag', tag: 'multi' }, raw, MediaTypes.ociIndex);
    const report = await collectGarbage(registry, { gracePeriodMs: 0, deleteUntagged: true });
    assert.equal(report.manifestsDeleted, 0, 'the index child is reachable from a tag');
    assert.equal(report.blobsDeleted, 0);
  });

  it('with deleteUntagged removes manifests no tag reaches, but keeps referrers of tagged ones', async (t) => {
    const { registry } = await fresh(t);
    const tagged = await pushImage(registry, 'app', 'v1');
    const signature = await pushImage(registry, 'app', undefined, { subject: tagged.digest });
    const untagged = await pushImage(registry, 'app', undefined);
    // Old enough to be past the grace for revisions too.
    const report = await collectGarbage(registry, { gracePeriodMs: -1, deleteUntagged: true });
    assert.equal(report.manifestsDeleted, 1);
    assert.equal(await registry.manifests.isRevision('app', untagged.digest), false);
    assert.ok(await registry.manifests.isRevision('app', signature.digest), 'a referrer of a tagged manifest stays');
    for (const d of [...untagged.blobs, untagged.digest]) assert.equal(await exists(registry, d), false);
    for (const d of signature.blobs) assert.ok(await exists(registry, d));
  });

  it('restores a trashed blob that a manifest pushed during the run references', async (t) => {
    const { registry } = await fresh(t);
    const orphanData = randomBytes(2000);
    const orphan = await pushBlob(registry, 'app', orphanData);
    let pushed: { digest: Digest } | undefined;
    const report = await collectGarbage(registry, {
      gracePeriodMs: 0,
      afterTrash: async () => {
        // A push that reuses the orphan lands while it sits in the trash: the PUT's re-check sees it
        // gone and refuses; the client pushes the blob again and succeeds.
        const config = Buffer.from('{"os":"linux"}');
        const configDigest = await pushBlob(registry, 'app', config);
        const raw = Buffer.from(JSON.stringify({
          schemaVersion: 2, mediaType: MediaTypes.ociManifest,
          config: { mediaType: MediaTypes.ociConfig, digest: configDigest, size: config.length },
          layers: [{ mediaType: MediaTypes.ociLayerGzip, digest: orphan, size: orphanData.length }],
        }));
        await assert.rejects(registry.manifests.put('app', { kind: 'tag', tag: 'late' }, raw, MediaTypes.ociManifest), (e) => isTsdError(e, 'MANIFEST_BLOB_UNKNOWN'));
        await assert.rejects(registry.manifests.get('app', { kind: 'tag', tag: 'late' }), 'the refused push left no tag');
        await pushBlob(registry, 'app', orphanData);
        pushed = await registry.manifests.put('app', { kind: 'tag', tag: 'late' }, raw, MediaTypes.ociManifest);
      },
    });
    assert.ok(pushed);
    assert.equal(report.blobsDeleted, 0, 'the re-pushed blob is referenced by the second mark');
    assert.ok(await exists(registry, orphan));
    const m = await registry.manifests.get('app', { kind: 'tag', tag: 'late' });
    assert.equal(m.digest, pushed.digest);
  });

  it('a run that died with blobs in the trash has them restored by the next run', async (t) => {
    const { registry } = await fresh(t);
    const image = await pushImage(registry, 'app', 'v1');
    // What a crash between trashing and the second mark leaves: a referenced blob in the trash.
    const layer = image.blobs[1]!;
    await registry.backend.move(paths.blobData(layer), `tsdocker/gc-trash/crashed-run/${layer.replace(':', '/')}`);
    const report = await collectGarbage(registry, { gracePeriodMs: 0 });
    assert.equal(report.blobsDeleted, 0);
    assert.ok(await exists(registry, layer), 'restored to its place');
    await assert.rejects(registry.backend.stat('tsdocker/gc-trash'), (e) => isTsdError(e, 'NOT_FOUND'));
  });

  it('purges uploads older than the configured age', async (t) => {
    const { registry } = await fresh(t);
    const old = await registry.uploads.create('app');
    await registry.backend.putContent(paths.uploadStartedAt('app', old.id), Buffer.from(new Date(Date.now() - 8 * 86400_000).toISOString()));
    const current = await registry.uploads.create('app');
    const { purged } = await purgeStaleUploads(registry, 7 * 86400_000);
    assert.deepEqual(purged, [`app/${old.id}`]);
    await assert.rejects(registry.uploads.status('app', old.id), (e) => isTsdError(e, 'BLOB_UPLOAD_UNKNOWN'));
    assert.equal((await registry.uploads.status('app', current.id)).size, 0);
  });
});
