// The cases a path-by-path comparison gets wrong easily, on both drivers: a same-size rewrite that
// keeps the whole-second mtime (only the content tells), copy-ups that change nothing, an xattr
// change, type changes, a deleted and recreated tree (overlay: opaque), a file restored unchanged
// inside a recreated directory (the opaque marker must not lose it), hardlinks to lower files.
// Each time: the rows, the same rows from the full double walk, and a committed image whose tree
// is the container's.
import assert from 'node:assert/strict';
import { utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { Digest } from '../../shared/digest.js';
import { commitContainer, diffSnapshot } from '../../engine/images/commit.js';
import { chainIds } from '../../engine/images/unpack-image.js';
import { lgetxattrs, lsetxattr } from '../../engine/sys/libc.js';
import { need } from '../helpers/env.js';
import { T0 } from './unpack/lib.js';
import { buildBusyboxImage, createContainer, diffLines, drivers, listTar, loadImage, runIn, setup, treeOf, viewOf } from './commit-fixture.js';

const EDGE = [
  'echo SAME > /same.txt', // same size as 'same\n'; its mtime is set back to the image's below
  'chmod 644 /touchme', // already 644: overlay copies it up, nothing changes
  'rm /oldlink && echo now-a-file > /oldlink',
  'rm /perm.txt && ln -s /data /perm.txt',
  'rm -rf /nest && mkdir -p /nest/a && echo n > /nest/a/new',
  'cp -p /dir1/a /tmp/a-save && rm -rf /dir1 && mkdir /dir1 && cp -p /tmp/a-save /dir1/a && rm /tmp/a-save',
  'ln /data/keep.txt /data/keep-link',
  'echo more >> /hl/one',
].join(' && ');

for (const driver of drivers) {
  test(`${driver}: edge cases of diff and commit`, async (t: TestContext) => {
    if (!need(t, { root: true, programs: ['chroot'] })) return;
    const s = await setup(t, driver);
    const parent = await loadImage(t, s.engine, await buildBusyboxImage('oci'), 'commit-test/busybox:1');
    const c = await createContainer(s, parent);
    await runIn(c.root, EDGE);
    await utimes(join(c.root, 'same.txt'), T0, T0);
    lsetxattr(join(c.root, 'dmode/f'), 'user.note', Buffer.from('added later'));

    const expected = [
      'A /data/keep-link',
      'A /nest/a/new',
      'C /data',
      'C /dir1',
      'C /dmode',
      'C /dmode/f',
      'C /hl',
      'C /hl/one',
      'C /nest',
      'C /nest/a',
      'C /oldlink',
      'C /perm.txt',
      'C /same.txt',
      'D /dir1/sub',
      'D /nest/a/b',
      // vfs keeps the image's hardlink pair: appending to one changes both names.
      ...(driver === 'vfs' ? ['C /hl/two'] : []),
    ].sort();
    assert.deepEqual(diffLines(await diffSnapshot(s.engine, c.key)), expected);
    assert.deepEqual(diffLines(await diffSnapshot(s.engine, c.key, { walk: 'full' })), expected);

    const tree = await treeOf(c.root);
    const record = await commitContainer(s.engine, { snapshotKey: c.key, image: parent });
    const layer = await listTar(gunzipSync(await s.engine.content.get(record.layers.at(-1)!.digest as Digest)));
    if (driver === 'overlay') {
      // Recreated dirs hide the lower content with one marker; what is in them comes whole.
      for (const name of ['dir1/.wh..wh..opq', 'dir1/a', 'nest/.wh..wh..opq', 'nest/a', 'nest/a/new']) assert.ok(layer.has(name), name);
      assert.ok(!layer.has('nest/a/.wh.b') && !layer.has('dir1/.wh.sub'));
    } else {
      for (const name of ['dir1/.wh.sub', 'nest/a/.wh.b', 'nest/a/new']) assert.ok(layer.has(name), name);
      assert.ok(!layer.has('dir1/a'), 'an unchanged file is not in the layer');
    }
    assert.ok(!layer.has('touchme') && !layer.has('tmp'), 'copied up but unchanged: not in the layer');
    assert.equal(layer.get('dmode/f')!.xattrs, 'user.note=added later');
    assert.equal(layer.get('same.txt')!.size, 5);

    const view = await viewOf(s, chainIds(record.diffIds).at(-1)!, 'view-edge');
    assert.deepEqual(await treeOf(view), tree);
  });
}

test('overlay with redirect_dir: a renamed lower directory is found by the merged walk', async (t: TestContext) => {
  if (!need(t, { root: true, programs: ['chroot'] })) return;
  const s = await setup(t, 'overlay');
  const parent = await loadImage(t, s.engine, await buildBusyboxImage('docker'), 'commit-test/busybox:1');
  // The container's own mount, made with redirect_dir=on (some kernels default to it): renaming a
  // lower directory then leaves a redirect in the upper dir instead of copying the tree up.
  const [m] = await s.engine.snapshots.prepare('ctr-redirect', chainIds(parent.diffIds).at(-1)!);
  const root = await s.scratch.mount([{ ...m!, options: [...m!.options, 'redirect_dir=on'] }], 'ctr-redirect');
  await runIn(root, 'mv /nest /nest-moved && echo x > /nest-moved/a/added');
  const { dir: upper } = await s.engine.snapshots.applyTarget('ctr-redirect');
  assert.ok(lgetxattrs(join(upper, 'nest-moved')).has('trusted.overlay.redirect'), 'the kernel made a redirect');

  const expected = ['A /nest-moved', 'A /nest-moved/a', 'A /nest-moved/a/added', 'A /nest-moved/a/b', 'A /nest-moved/a/b/c.txt', 'D /nest'];
  assert.deepEqual(diffLines(await diffSnapshot(s.engine, 'ctr-redirect')), expected);
  const tree = await treeOf(root);
  const record = await commitContainer(s.engine, { snapshotKey: 'ctr-redirect', image: parent });
  const layer = await listTar(gunzipSync(await s.engine.content.get(record.layers.at(-1)!.digest as Digest)));
  assert.ok(layer.has('nest-moved/a/b/c.txt') && layer.has('.wh.nest'), [...layer.keys()].join(', '));
  assert.deepEqual(await treeOf(await viewOf(s, chainIds(record.diffIds).at(-1)!, 'view-redirect')), tree);
});
