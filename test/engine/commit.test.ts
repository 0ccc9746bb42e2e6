// commitContainer on both storage drivers: the new config, manifest and layer (whiteouts, opaque
// dirs, xattrs), the committed snapshot of the new chain, and the image unpacked into a fresh
// engine, compared node by node with the container's tree; empty commits; bad input.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Digest } from '../../shared/digest.js';
import { isTsdError } from '../../shared/errors.js';
import { MediaTypes } from '../../shared/media-types.js';
import { commitContainer, diffSnapshot } from '../../engine/images/commit.js';
import type { Engine } from '../../engine/images/open-engine.js';
import { blobsOfRecord } from '../../engine/images/record.js';
import { chainIds, unpackImage } from '../../engine/images/unpack-image.js';
import { lsetxattr } from '../../engine/sys/libc.js';
import { busyPaths } from '../../engine/snapshots/mount.js';
import { need } from '../helpers/env.js';
import { buildBusyboxImage, createContainer, listTar, loadImage, LONG_PATH, runIn, SCRIPT, setup, treeOf, viewOf, drivers } from './commit-fixture.js';

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

for (const driver of drivers) {
  const format = driver === 'overlay' ? 'docker' : 'oci';

  test(`${driver}: commit of a ${format} image makes an image whose tree is the container's`, async (t: TestContext) => {
    if (!need(t, { root: true, programs: ['chroot'] })) return;
    const s = await setup(t, driver);
    const parent = await loadImage(t, s.engine, await buildBusyboxImage(format), 'commit-test/busybox:1');
    const c = await createContainer(s, parent);
    await runIn(c.root, SCRIPT);
    lsetxattr(join(c.root, 'data/new.txt'), 'user.commit', Buffer.from('xattr value'));
    const containerTree = await treeOf(c.root);

    const parentConfig = JSON.parse((await s.engine.content.get(parent.config.digest)).toString('utf8'));
    const cmd = ['/bin/cat', '/data/new.txt'];
    const before = Date.now();
    const record = await commitContainer(s.engine, {
      snapshotKey: c.key,
      image: parent,
      reference: 'commit-test/result:v1',
      config: { ...parentConfig.config, Cmd: cmd },
      author: 'Tester <t@example.com>',
      comment: 'the script',
      createdBy: '/bin/sh -c script',
      container: 'c0ffee',
    });

    // The record and the manifest: the parent's blobs as they were, plus one gzip layer.
    assert.deepEqual(record.repoTags, ['docker.io/commit-test/result:v1']);
    assert.equal(s.engine.images.resolve('commit-test/result:v1').image.id, record.id);
    const types = format === 'docker'
      ? { manifest: MediaTypes.dockerManifest, config: MediaTypes.dockerConfig, layer: MediaTypes.dockerLayerGzip }
      : { manifest: MediaTypes.ociManifest, config: MediaTypes.ociConfig, layer: MediaTypes.ociLayerGzip };
    const manifestRaw = await s.engine.content.get(record.manifest.digest);
    assert.equal(sha256(manifestRaw), record.manifest.digest);
    const manifest = JSON.parse(manifestRaw.toString('utf8'));
    assert.equal(manifest.mediaType, types.manifest);
    assert.equal(record.manifest.mediaType, types.manifest);
    assert.equal(manifest.config.mediaType, types.config);
    assert.equal(manifest.config.digest, record.id);
    assert.deepEqual(manifest.layers.slice(0, 2), parent.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })));
    assert.equal(manifest.layers.length, 3);
    const layerDesc = manifest.layers[2];
    assert.equal(layerDesc.mediaType, types.layer);
    const blob = await s.engine.content.get(layerDesc.digest as Digest);
    assert.equal(sha256(blob), layerDesc.digest);
    assert.equal(blob.length, layerDesc.size);
    const tar = gunzipSync(blob);

    // The config: the parent's, with the new DiffID, a history row, the new Cmd.
    const config = JSON.parse((await s.engine.content.get(record.id)).toString('utf8'));
    assert.deepEqual(config.rootfs.diff_ids, [...parentConfig.rootfs.diff_ids, sha256(tar)]);
    assert.deepEqual(record.diffIds, config.rootfs.diff_ids);
    assert.deepEqual(config.config.Cmd, cmd);
    assert.deepEqual(config.config.Labels, parentConfig.config.Labels);
    assert.equal(config.architecture, parentConfig.architecture);
    assert.equal(config.author, 'Tester <t@example.com>');
    assert.equal(config.container, 'c0ffee');
    assert.equal(config.history.length, parentConfig.history.length + 1);
    assert.deepEqual(config.history.slice(0, -1), parentConfig.history);
    const row = config.history.at(-1);
    assert.deepEqual(Object.keys(row).sort(), ['author', 'comment', 'created', 'created_by']);
    assert.equal(row.comment, 'the script');
    assert.equal(row.created_by, '/bin/sh -c script');
    assert.equal(row.created, config.created);
    assert.ok(Date.parse(config.created) >= before - 1000 && Date.parse(config.created) <= Date.now());
    const history = await s.engine.images.history('commit-test/result:v1');
    assert.equal(history.length, 3);

    // The layer: changes only, deletions as whiteouts, the recreated dir opaque (overlay) or per-child whiteouts (vfs).
    const entries = await listTar(tar);
    for (const name of ['data/.wh.old.txt', 'l2/.wh.gone', '.wh.rmdir', 'opq/.wh.new1', 'data/new.txt', 'data/mod.txt', 'dir1/fresh', 'newdir/deep/f', LONG_PATH, 'data/ünïcødé.txt', 'fifo', 'chardev']) {
      assert.ok(entries.has(name), `${name} not in the layer: ${[...entries.keys()].join(', ')}`);
    }
    for (const name of ['tmp', 'tmp/t', 'bin/busybox', 'data/keep.txt/x', 'hl/one', 'same.txt', 'data/old.txt']) assert.ok(!entries.has(name), `${name} in the layer`);
    if (driver === 'overlay') {
      assert.ok(entries.has('dir1/.wh..wh..opq'));
      assert.ok(!entries.has('dir1/.wh.a') && !entries.has('dir1/.wh.sub'));
    } else {
      assert.ok(entries.has('dir1/.wh.a') && entries.has('dir1/.wh.sub'));
    }
    // data/hard and data/new.txt are one inode: the first in the tar is the file (with the xattr), the other a link to it.
    assert.deepEqual([entries.get('data/hard')!.type, entries.get('data/new.txt')!.type], ['file', 'link']);
    assert.equal(entries.get('data/new.txt')!.linkname, 'data/hard');
    assert.equal(entries.get('data/hard')!.xattrs, 'user.commit=xattr value');

    // The new chain is committed: the image runs at once, and its tree is the container's.
    const chain = chainIds(record.diffIds).at(-1)!;
    assert.equal((await s.engine.snapshots.stat(chain)).kind, 'committed');
    const view = await viewOf(s, chain, 'view-new');
    assert.deepEqual(await treeOf(view), containerTree);

    // A fresh engine given only the blobs unpacks the same tree.
    const fresh = await setup(t, driver);
    for (const d of blobsOfRecord(record)) await fresh.engine.content.ingest({ digest: d }, () => s.engine.content.open(d));
    const copied = await fresh.engine.images.addFromContent({ digest: record.target.digest, mediaType: record.target.mediaType });
    assert.equal(copied.id, record.id);
    const top = await unpackImage(fresh.engine, copied);
    assert.equal(top, chain);
    assert.deepEqual(await treeOf(await viewOf(fresh, top, 'view-fresh')), containerTree);

    // The container is unchanged by the commit, and can be committed again (a second, different image).
    assert.deepEqual(await treeOf(c.root), containerTree);
    const again = await commitContainer(s.engine, { snapshotKey: c.key, image: parent });
    assert.notEqual(again.id, record.id);
    assert.deepEqual(again.diffIds, record.diffIds, 'same changes, same DiffID');
  });

  test(`${driver}: a commit without changes adds no layer, only a history row marked empty_layer`, async (t: TestContext) => {
    if (!need(t, { root: true, programs: ['chroot'] })) return;
    const s = await setup(t, driver);
    const parent = await loadImage(t, s.engine, await buildBusyboxImage(format), 'commit-test/busybox:1');
    const c = await createContainer(s, parent);
    await runIn(c.root, 'echo t > /tmp/t && rm /tmp/t && cat /data/keep.txt | true');
    assert.deepEqual(await diffSnapshot(s.engine, c.key), []);

    const record = await commitContainer(s.engine, { snapshotKey: c.key, image: parent, reference: 'commit-test/empty', comment: 'nothing' });
    assert.notEqual(record.id, parent.id);
    assert.deepEqual(record.diffIds, parent.diffIds);
    assert.deepEqual(record.layers, parent.layers);
    const config = JSON.parse((await s.engine.content.get(record.id)).toString('utf8'));
    assert.deepEqual(config.history.at(-1), { created: config.created, comment: 'nothing', empty_layer: true });
    assert.equal(s.engine.images.resolve('commit-test/empty:latest').image.id, record.id);
  });
}

/** Every digest in the engine's content store, sorted. */
async function contentDigests(engine: Engine): Promise<string[]> {
  const out: string[] = [];
  for await (const d of engine.content.list()) out.push(d);
  return out.sort();
}

test('commit refuses a snapshot that is not a container of the image, and a bad reference, changing nothing', async (t: TestContext) => {
  if (!need(t, { root: true, programs: ['chroot'] })) return;
  const s = await setup(t, 'overlay');
  const a = await loadImage(t, s.engine, await buildBusyboxImage('oci'), 'commit-test/a:1');
  const c = await createContainer(s, a);
  await runIn(c.root, 'echo x > /x');
  const blobs = () => contentDigests(s.engine);
  const start = await blobs();
  const images = s.engine.images.all().length;

  const other = { ...a, diffIds: a.diffIds.slice(0, 1), layers: a.layers.slice(0, 1) };
  await assert.rejects(commitContainer(s.engine, { snapshotKey: c.key, image: other }), (err) => isTsdError(err) && err.code === 'INVALID_ARGUMENT' && /not a container of image/.test(err.message));
  await assert.rejects(commitContainer(s.engine, { snapshotKey: c.key, image: a, reference: 'Bad:Ref:x' }), (err) => isTsdError(err));
  await assert.rejects(commitContainer(s.engine, { snapshotKey: 'no-such-container', image: a }), (err) => isTsdError(err) && err.code === 'NOT_FOUND');
  await assert.rejects(commitContainer(s.engine, { snapshotKey: chainIds(a.diffIds).at(-1)!, image: a }), (err) => isTsdError(err));
  assert.deepEqual(await blobs(), start);
  assert.equal(s.engine.images.all().length, images);
});

test('a commit aborted half way, or of a file named like a whiteout, leaves no image, no new blob and no mount', async (t: TestContext) => {
  if (!need(t, { root: true, programs: ['chroot'] })) return;
  const s = await setup(t, 'overlay');
  const a = await loadImage(t, s.engine, await buildBusyboxImage('oci'), 'commit-test/a:1');
  const c = await createContainer(s, a);
  await runIn(c.root, 'for i in 1 2 3 4 5 6 7 8 9 10; do cat /bin/busybox >> /big-$i; done');
  const blobs = () => contentDigests(s.engine);
  const start = await blobs();
  const images = s.engine.images.all().length;
  const leftovers = async () => ({
    mounts: (await busyPaths(join(s.dir, 'data'))).filter((p) => !p.startsWith(s.scratch.dir)),
    tmp: await readdir(join(s.dir, 'data', 'tmp')).catch(() => []),
    ingest: await readdir(join(s.dir, 'data', 'content', 'ingest')).catch(() => []),
  });

  // Aborted at different stages (walk, tar and gzip, store, unpack): whatever was added goes again.
  let aborted = 0;
  for (const ms of [0, 30, 150, 400, 1000]) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), ms);
    try {
      const done = await commitContainer(s.engine, { snapshotKey: c.key, image: a, signal: controller.signal });
      await s.engine.images.remove(done.id); // finished first: fine, but not what is checked here
      continue;
    } catch (err) {
      assert.equal((err as Error).name, 'AbortError', String(err));
      aborted++;
    } finally {
      clearTimeout(timer);
    }
    assert.deepEqual(await blobs(), start, `aborted after ${ms} ms`);
    assert.equal(s.engine.images.all().length, images);
    assert.deepEqual(await leftovers(), { mounts: [], tmp: [], ingest: [] });
  }
  assert.ok(aborted >= 2, `${aborted} commits were aborted`);

  await runIn(c.root, 'echo x > /.wh.data');
  await assert.rejects(commitContainer(s.engine, { snapshotKey: c.key, image: a }), (err) => isTsdError(err, 'UNSUPPORTED') && /whiteout/.test(err.message));
  assert.deepEqual(await blobs(), start);
  assert.equal(s.engine.images.all().length, images);
  assert.deepEqual(await leftovers(), { mounts: [], tmp: [], ingest: [] });
});
