// Run: node --test dist/bench/engine-commit.js (root). How long a commit of a 100 MB writable layer takes (half incompressible, half text-like), on
// both drivers, and what the gzip settings cost: the numbers go to the test's diagnostics. The
// assertions are about the result (a layer that unpacks to the container's files) and a generous
// time bound; the numbers themselves are for the report.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { commitContainer, diffSnapshot } from '../engine/images/commit.js';
import { diffUpper } from '../engine/images/commit-diff.js';
import { layerTar, storeLayer } from '../engine/images/commit-layer.js';
import { openTrees } from '../engine/images/commit-trees.js';
import { need } from '../test/helpers/env.js';
import { buildBusyboxImage, createContainer, drivers, loadImage, setup, treeOf, viewOf } from '../test/engine/commit-fixture.js';
import { chainIds } from '../engine/images/unpack-image.js';

const MB = 1_000_000;

/** Text-like bytes: words from a small vocabulary (gzip gets about 3:1, like source or logs). */
function textLike(size: number): Buffer {
  const words = Array.from({ length: 2000 }, () => randomBytes(3 + Math.floor(Math.random() * 6)).toString('base64url'));
  const parts: string[] = [];
  let n = 0;
  while (n < size) {
    const w = words[Math.floor(Math.random() * words.length)]!;
    parts.push(w);
    n += w.length + 1;
  }
  return Buffer.from(parts.join(' ')).subarray(0, size);
}

async function fill(root: string): Promise<void> {
  await mkdir(join(root, 'blobs'));
  for (let i = 0; i < 20; i++) await writeFile(join(root, 'blobs', `r${i}.bin`), randomBytes(2.5 * MB));
  const text = textLike(50 * MB);
  for (let d = 0; d < 20; d++) {
    await mkdir(join(root, 'src', `d${d}`), { recursive: true });
    for (let f = 0; f < 100; f++) {
      const at = (d * 100 + f) * 25_000;
      await writeFile(join(root, 'src', `d${d}`, `f${f}.txt`), text.subarray(at, at + 25_000));
    }
  }
}

const ms = (t0: number): number => Math.round(performance.now() - t0);

for (const driver of drivers) {
  test(`${driver}: commit of a 100 MB writable layer`, async (t: TestContext) => {
    if (!need(t, { root: true })) return;
    const s = await setup(t, driver);
    const parent = await loadImage(t, s.engine, await buildBusyboxImage('oci'), 'commit-test/busybox:1');
    const c = await createContainer(s, parent);
    await fill(c.root);

    let t0 = performance.now();
    const rows = await diffSnapshot(s.engine, c.key);
    const diffMs = ms(t0);
    assert.equal(rows.length, 1 + 20 + 1 + 20 + 2000);

    t0 = performance.now();
    const record = await commitContainer(s.engine, { snapshotKey: c.key, image: parent });
    const commitMs = ms(t0);
    const layer = record.layers.at(-1)!;
    t.diagnostic(`${driver}: diff ${diffMs} ms (${rows.length} rows); commit ${commitMs} ms for 100 MB -> ${(layer.size / MB).toFixed(1)} MB gzip (diff + tar + gzip + store + unpack of the new chain)`);
    assert.ok(commitMs < 60_000, `commit took ${commitMs} ms`);

    // gzip settings on the same changes (tar + gzip + store only).
    if (driver === 'overlay') {
      const trees = await openTrees(s.engine, c.key);
      try {
        const plan = { root: trees.own, ...(await diffUpper(trees.own, await trees.parent())) };
        for (const options of [{ level: 1 }, { level: 1, parallel: 1 }, { level: 6 }]) {
          t0 = performance.now();
          const stored = await storeLayer(s.engine, layerTar(plan), options);
          t.diagnostic(`${driver}: store with ${JSON.stringify(options)}: ${ms(t0)} ms, ${(stored.size / MB).toFixed(1)} MB`);
          assert.equal(stored.diffId, record.diffIds.at(-1), 'same tar whatever the compression');
        }
      } finally {
        await trees.release();
      }
    }

    const view = await viewOf(s, chainIds(record.diffIds).at(-1)!, 'view-speed');
    const [a, b] = [await treeOf(join(view, 'src')), await treeOf(join(c.root, 'src'))];
    assert.deepEqual(a, b);
  });
}
