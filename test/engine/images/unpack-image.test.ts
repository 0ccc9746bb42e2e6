/**
 * Images unpacked into chains of committed snapshots, on both drivers: chain IDs as containerd
 * names them, idempotent and shared work, a bad DiffID leaving nothing committed, and unused
 * snapshots removed after rmi while shared and in-use ones stay.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import type { Digest } from '../../../shared/digest.js';
import { isTsdError } from '../../../shared/errors.js';
import { openEngine, type Engine } from '../../../engine/images/open-engine.js';
import { chainIds, removeUnusedSnapshots, unpackImage } from '../../../engine/images/unpack-image.js';
import { mount, unmount } from '../../../engine/snapshots/index.js';
import { need, tempDir } from '../../helpers/env.js';
import { record, sharingImage, storedImage } from './lib.js';

async function engineFor(t: TestContext, driver: 'overlay' | 'vfs'): Promise<Engine> {
  const dir = await tempDir(t, `tsdocker-unpack-${driver}-`);
  const engine = await openEngine({ dataRoot: dir, storageDriver: driver, unpackWorkers: 2 });
  t.after(() => engine.close());
  return engine;
}

async function keys(engine: Engine): Promise<string[]> {
  const out: string[] = [];
  for await (const i of engine.snapshots.walk()) out.push(`${i.kind}:${i.key}`);
  return out.sort();
}

/** Read a file from the top of a chain through a read-only view, as a container would see it. */
async function readThrough(t: TestContext, engine: Engine, chain: string, path: string): Promise<string> {
  const dir = await tempDir(t, 'tsdocker-view-');
  const target = join(dir, 'm');
  await mkdir(target);
  const key = `view-${Math.random().toString(16).slice(2)}`;
  const mounts = await engine.snapshots.view(key, chain);
  await mount(mounts, target);
  try {
    return await readFile(join(target, path), 'utf8');
  } finally {
    await unmount(target, { detach: true });
    await engine.snapshots.remove(key);
  }
}

it('chain IDs: the first is the DiffID, each next is sha256 of "<previous> <DiffID>"', () => {
  const a = `sha256:${'a'.repeat(64)}` as Digest;
  const b = `sha256:${'b'.repeat(64)}` as Digest;
  const c = `sha256:${'c'.repeat(64)}` as Digest;
  const ab = `sha256:${createHash('sha256').update(`${a} ${b}`).digest('hex')}`;
  const abc = `sha256:${createHash('sha256').update(`${ab} ${c}`).digest('hex')}`;
  assert.deepEqual(chainIds([a, b, c]), [a, ab, abc]);
  assert.deepEqual(chainIds([]), []);
});

for (const driver of ['overlay', 'vfs'] as const) {
  describe(`unpackImage on ${driver}`, () => {
    it('unpacks every layer into a committed chain; a second call does nothing; concurrent calls share the work', async (t) => {
      if (!need(t, { root: true })) return;
      const engine = await engineFor(t, driver);
      const img = await storedImage(engine.images, { layers: 3 });
      const rec = await record(engine.images, img, ['unpack/test:1']);
      const [top, again] = await Promise.all([unpackImage(engine, rec), unpackImage(engine, rec)]);
      const chains = chainIds(rec.diffIds);
      assert.equal(top, chains[2]);
      assert.equal(again, top);
      assert.deepEqual(await keys(engine), chains.map((c) => `committed:${c}`).sort());
      // Every layer's files are visible at the top.
      for (const layer of img.layers) {
        for (const [path, content] of layer.files) assert.equal(await readThrough(t, engine, top, path), content.toString('utf8'));
      }
      assert.equal(await unpackImage(engine, rec), top);
      assert.deepEqual(await keys(engine), chains.map((c) => `committed:${c}`).sort());
    });

    it('a layer whose DiffID does not match leaves no snapshot of it, committed or active', async (t) => {
      if (!need(t, { root: true })) return;
      const engine = await engineFor(t, driver);
      const img = await storedImage(engine.images, { layers: 2 });
      const rec = await record(engine.images, img);
      const forged = { ...rec, diffIds: [rec.diffIds[0]!, `sha256:${'0'.repeat(64)}` as Digest] };
      await assert.rejects(unpackImage(engine, forged), (err) => isTsdError(err, 'DIGEST_INVALID'));
      assert.deepEqual(await keys(engine), [`committed:${rec.diffIds[0]}`], 'only the good bottom layer is committed');
      // The real image still unpacks afterwards, reusing the bottom layer.
      const top = await unpackImage(engine, rec);
      assert.equal(top, chainIds(rec.diffIds)[1]);
    });

    it('removeUnusedSnapshots keeps what another image or a container still uses', async (t) => {
      if (!need(t, { root: true })) return;
      const engine = await engineFor(t, driver);
      const img = await storedImage(engine.images, { layers: 2 });
      const a = await record(engine.images, img, ['unpack/a:1']);
      const b = await record(engine.images, await sharingImage(engine.images, img, 'b'), ['unpack/b:1']);
      const top = await unpackImage(engine, a);
      assert.equal(await unpackImage(engine, b), top, 'same layers, same chain');
      await engine.images.remove('unpack/a:1');
      assert.equal(await removeUnusedSnapshots(engine), 0, 'b still needs both layers');
      await engine.snapshots.prepare('container-1', top);
      await engine.images.remove('unpack/b:1');
      assert.equal(await removeUnusedSnapshots(engine), 0, 'a container layer sits on top');
      assert.equal((await keys(engine)).length, 3);
      await engine.snapshots.remove('container-1');
      assert.equal(await removeUnusedSnapshots(engine), 2);
      assert.deepEqual(await keys(engine), []);
      assert.equal(b.id !== a.id, true);
    });
  });
}
