// diffSnapshot and exportSnapshot on both storage drivers, against what a real dockerd reports
// for the same image and the same shell script (`docker diff`, `docker export`).
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { diffSnapshot, exportSnapshot } from '../../engine/images/commit.js';
import { busyPaths } from '../../engine/snapshots/mount.js';
import { need, tempDir } from '../helpers/env.js';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { writeDockerArchive, type TestImage } from '../helpers/images.js';
import { sharedHooks } from '../helpers/oci-client.js';
import {
  buildBusyboxImage,
  createContainer,
  diffLines,
  drivers,
  listTar,
  loadImage,
  LONG_PATH,
  runIn,
  SCRIPT,
  setup,
  treeOf,
  dockerOwn,
  resolveLinks,
  type TarItem,
} from './commit-fixture.js';

const shared = sharedHooks();
after(() => shared.cleanup());

let image: Promise<TestImage> | undefined;
const busybox = () => (image ??= buildBusyboxImage('docker'));

/** What the real docker says for the script: `docker diff` lines and `docker export` entries. Once per file. */
let reference: Promise<{ diff: string[]; exported: Map<string, TarItem> }> | undefined;
function dockerReference(): Promise<{ diff: string[]; exported: Map<string, TarItem> }> {
  reference ??= (async () => {
    const d: PrivateDockerd = await startDockerd(shared.hooks);
    const dir = await tempDir(shared.hooks, 'tsd-commit-docker-');
    const archive = join(dir, 'image.tar');
    await writeDockerArchive(archive, await busybox(), ['commit-test/busybox:1']);
    await d.docker(['load', '-i', archive]);
    await d.docker(['run', '--name', 'c1', '--network', 'none', 'commit-test/busybox:1', 'sh', '-c', SCRIPT]);
    const diff = (await d.docker(['diff', 'c1'])).stdout.split('\n').filter((l) => l.trim() !== '').sort();
    await d.docker(['export', '-o', join(dir, 'export.tar'), 'c1']);
    const exported = await listTar(await readFile(join(dir, 'export.tar')));
    return { diff, exported };
  })();
  return reference;
}

for (const driver of drivers) {
  test(`${driver}: diffSnapshot lists what docker diff lists for the same script`, async (t: TestContext) => {
    if (!need(t, { root: true, programs: ['dockerd', 'docker', 'chroot'] })) return;
    const s = await setup(t, driver);
    const record = await loadImage(t, s.engine, await busybox(), 'commit-test/busybox:1');
    const c = await createContainer(s, record);
    await runIn(c.root, SCRIPT);

    const rows = await diffSnapshot(s.engine, c.key);
    assert.deepEqual(rows.map((r) => r.Path), [...rows.map((r) => r.Path)].sort(), 'rows are sorted by path');
    const ours = diffLines(rows);
    // Spot checks that hold whatever docker says.
    for (const line of ['A /data/new.txt', 'A /data/hard', 'C /data/mod.txt', 'D /data/old.txt', 'C /data', 'C /dir1', 'A /dir1/fresh', 'D /dir1/a', 'D /dir1/sub', 'D /l2/gone', 'D /rmdir', 'D /opq/new1', 'C /perm.txt', 'C /oldlink', 'A /newlink', 'C /d2f', 'C /f2d', 'A /f2d/z', `A /${LONG_PATH}`]) {
      assert.ok(ours.includes(line), `${line} missing from ${JSON.stringify(ours)}`);
    }
    for (const absent of ['C /tmp', 'A /tmp/t', 'C /zap', 'C /same.txt', 'D /dir1/sub/b', 'C /hl/one']) assert.ok(!ours.includes(absent), `${absent} listed`);
    assert.deepEqual(ours, (await dockerReference()).diff);

    // With the script undone nothing is left of it but docker's own rules; unmounted, the answer is the same.
    await c.unmount();
    assert.deepEqual(diffLines(await diffSnapshot(s.engine, c.key)), ours);
    assert.deepEqual(diffLines(await diffSnapshot(s.engine, c.key, { walk: 'full' })), ours, 'the full double walk agrees');
    assert.deepEqual(await busyPaths(join(s.dir, 'data')), [], 'no mount left behind');
  });

  test(`${driver}: exportSnapshot is the container's tree, as docker export has it`, async (t: TestContext) => {
    if (!need(t, { root: true, programs: ['dockerd', 'docker', 'chroot'] })) return;
    const s = await setup(t, driver);
    const record = await loadImage(t, s.engine, await busybox(), 'commit-test/busybox:1');
    const c = await createContainer(s, record);
    await runIn(c.root, SCRIPT);

    const exported = await listTar(await exportSnapshot(s.engine, c.key));
    const tree = await treeOf(c.root);
    assert.deepEqual([...exported.keys()].sort(), [...tree.keys()].sort(), 'every node once, nothing deleted');
    for (const gone of ['data/old.txt', 'dir1/a', 'l2/gone', 'rmdir', 'opq/new1', 'opq/old1', 'zap']) assert.ok(!exported.has(gone), gone);
    const content = resolveLinks(exported);
    assert.equal(content.get('data/new.txt')!.sha, content.get('data/hard')!.sha);
    assert.equal(content.get(LONG_PATH)!.size, 5);
    assert.equal(content.get('big.bin')!.size, 300_000);
    assert.equal(exported.get('chardev')!.dev, '1:3');
    assert.equal(exported.get('fifo')!.type, 'fifo');
    assert.equal(exported.get('oldlink')!.linkname, 'elsewhere');
    assert.equal(exported.get('perm.txt')!.mode, 0o600);
    assert.equal(exported.get('data/keep.txt')!.uid, 1000);
    // Each entry as the tree has it (tree lines: kind mode uid:gid size=N hash).
    for (const [name, line] of tree) {
      const item = content.get(name)!;
      const [kind, mode, owner] = line.split(' ');
      assert.equal((item.mode & 0o7777).toString(8), mode, `${name} mode`);
      assert.equal(`${item.uid}:${item.gid}`, owner, `${name} owner`);
      if (kind === 'file') assert.ok(line.includes(` ${item.sha} `), `${name}: ${line} vs ${item.sha}`);
    }

    const docker = resolveLinks((await dockerReference()).exported);
    for (const [name, item] of content) assert.deepEqual(docker.get(name), item, `${name}: ours vs docker export`);
    for (const name of docker.keys()) assert.ok(content.has(name) || dockerOwn.has(name), `docker export has ${name}, we do not`);

    // Destroyed half way: the view mount is gone and its directory removed.
    const stream = await exportSnapshot(s.engine, c.key);
    await new Promise<void>((resolve) => stream.once('readable', () => resolve()));
    stream.read();
    stream.destroy();
    await new Promise((resolve) => stream.once('close', resolve));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(await busyPaths(join(s.dir, 'data')).then((b) => b.filter((p) => !p.startsWith(s.scratch.dir))), []);
    assert.deepEqual(await readdir(join(s.dir, 'data', 'tmp')).catch(() => []), []);
  });
}
