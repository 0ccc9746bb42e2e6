// A container's snapshots on both drivers: the init snapshot holds the runtime's mount points, so
// diff and commit see only the container's own changes; nothing is made through an image's
// symlinks; removal and a failed prepare leave no snapshot behind.
import assert from 'node:assert/strict';
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { commitContainer, diffSnapshot } from '../../engine/images/commit.js';
import { imageTopOf, initKeyOf, prepareContainerRootfs, removeContainerRootfs } from '../../engine/images/container-rootfs.js';
import type { Engine } from '../../engine/images/open-engine.js';
import { chainIds } from '../../engine/images/unpack-image.js';
import { need, tempDir } from '../helpers/env.js';
import { hostPlatform, imageOf, layerOf } from '../helpers/images.js';
import { buildBusyboxImage, drivers, listTar, loadImage, runIn, setup, type Setup } from './commit-fixture.js';
import { makeTar } from './unpack/lib.js';

async function keysOf(engine: Engine): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of engine.snapshots.walk()) keys.push(info.key);
  return keys.filter((k) => !k.startsWith('sha256:')).sort();
}

async function mounted(t: TestContext, s: Setup, key: string, mounts: Awaited<ReturnType<typeof prepareContainerRootfs>>): Promise<string> {
  const root = await s.scratch.mount(mounts, key.replaceAll('/', '-'));
  t.after(() => s.scratch.unmount(root).catch(() => undefined));
  return root;
}

for (const driver of drivers) {
  test(`${driver}: the init snapshot holds the mount points; diff and commit show only the container's changes`, async (t) => {
    if (!need(t, { root: true, programs: ['chroot'] })) return;
    const s = await setup(t, driver);
    const image = await loadImage(t, s.engine, await buildBusyboxImage('oci'), 'rootfs-test/busybox:1');
    const top = chainIds(image.diffIds).at(-1)!;
    const key = 'containers/c1';
    const root = await mounted(t, s, key, await prepareContainerRootfs(s.engine, key, top, { 'tsdocker.container': 'c1' }));

    for (const dir of ['proc', 'sys', 'dev']) assert.ok((await lstat(join(root, dir))).isDirectory(), dir);
    for (const file of ['etc/hosts', 'etc/hostname', 'etc/resolv.conf', '.dockerenv']) {
      const st = await lstat(join(root, file));
      assert.ok(st.isFile() && st.size === 0, file);
    }
    assert.equal(await readFile(join(root, 'etc/passwd'), 'utf8'), 'root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n', 'the image is below');
    assert.equal((await s.engine.snapshots.stat(key)).parent, initKeyOf(key));
    assert.equal(await imageTopOf(s.engine, key), top);
    assert.deepEqual(await diffSnapshot(s.engine, key), [], 'a fresh container has no changes');

    await runIn(root, 'echo new > /etc/added && echo x > /etc/hosts && mkdir -p /proc/ignored; rm /data/old.txt');
    const changes = (await diffSnapshot(s.engine, key)).map((c) => `${c.Kind} ${c.Path}`);
    assert.deepEqual(changes, ['0 /data', '2 /data/old.txt', '0 /etc', '1 /etc/added', '0 /etc/hosts', '0 /proc', '1 /proc/ignored']);

    const committed = await commitContainer(s.engine, { snapshotKey: key, image, reference: 'rootfs-test/committed:1' });
    const layer = committed.layers.at(-1)!;
    const names = [...(await listTar(await s.engine.content.get(layer.digest))).keys()];
    assert.ok(names.includes('etc/added'), names.join(' '));
    for (const absent of ['etc/hostname', 'etc/resolv.conf', '.dockerenv', 'sys', 'dev']) assert.ok(!names.includes(absent), `${absent} is not in the committed layer: ${names.join(' ')}`);

    await s.scratch.unmount(root);
    await removeContainerRootfs(s.engine, key);
    assert.deepEqual(await keysOf(s.engine), [], 'the container and its init snapshot are gone');
    await removeContainerRootfs(s.engine, key);
  });

  test(`${driver}: an image's symlinks at /etc, /etc/hosts and /proc are left alone, nothing is made through them`, async (t) => {
    if (!need(t, { root: true })) return;
    const s = await setup(t, driver);
    const outside = await tempDir(t, 'tsd-rootfs-outside-');
    const tarBytes = await makeTar([
      { name: 'etc', type: 'symlink', linkname: outside, mode: 0o777 },
      { name: 'proc', type: 'symlink', linkname: `${outside}/proc`, mode: 0o777 },
      { name: 'data/', type: 'directory', mode: 0o755 },
    ]);
    const layer = layerOf(tarBytes, 'oci');
    const image = await loadImage(t, s.engine, imageOf([layer], { architecture: hostPlatform.architecture, os: 'linux', config: {} }, 'oci'), 'rootfs-test/links:1');
    const key = 'containers/c2';
    const root = await mounted(t, s, key, await prepareContainerRootfs(s.engine, key, chainIds(image.diffIds).at(-1)!));
    assert.deepEqual(await readdir(outside), [], 'nothing written outside the root');
    assert.ok((await lstat(join(root, 'etc'))).isSymbolicLink());
    assert.ok((await lstat(join(root, 'proc'))).isSymbolicLink());
    assert.ok((await lstat(join(root, 'sys'))).isDirectory());
    await s.scratch.unmount(root);
    await removeContainerRootfs(s.engine, key);
  });

  test(`${driver}: a prepare that fails leaves no snapshot; an empty image gets the mount points too`, async (t) => {
    if (!need(t, { root: true })) return;
    const s = await setup(t, driver);
    await assert.rejects(prepareContainerRootfs(s.engine, 'containers/c3', 'sha256:' + '0'.repeat(64)), /not.found|does not exist|no such/i);
    assert.deepEqual(await keysOf(s.engine), []);
    const key = 'containers/c4';
    const root = await mounted(t, s, key, await prepareContainerRootfs(s.engine, key, ''));
    assert.deepEqual((await readdir(root)).sort(), ['.dockerenv', 'dev', 'etc', 'proc', 'sys']);
    await writeFile(join(root, 'etc/hosts'), '127.0.0.1 localhost\n');
    assert.deepEqual(await diffSnapshot(s.engine, key), [{ Path: '/etc', Kind: 0 }, { Path: '/etc/hosts', Kind: 0 }]);
    await s.scratch.unmount(root);
    await removeContainerRootfs(s.engine, key);
    assert.deepEqual(await keysOf(s.engine), []);
  });
}
