/**
 * Pulls at the same time, and pulls cancelled part way: two pulls of one image share each
 * download (one request per blob) and both report progress; one caller giving up does not stop
 * the other; an abort mid-download or mid-extraction leaves only verified blobs and committed
 * lower snapshots, and the next pull fetches only what is missing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Digest } from '../../shared/digest.js';
import { shortId } from '../../engine/images/json-message.js';
import { pullImage } from '../../engine/images/pull.js';
import { chainIds } from '../../engine/images/unpack-image.js';
import { need, waitFor } from '../helpers/env.js';
import { startRegistry } from '../helpers/registry.js';
import { assertFiles, collector, engineFor, imageOf, layerStatuses, push, randomLayer, snapshotKeys, startRegistryProxy } from './pull-lib.js';

async function contentList(engine: { content: { list(): AsyncIterable<Digest> } }): Promise<string[]> {
  const out: string[] = [];
  for await (const d of engine.content.list()) out.push(d);
  return out.sort();
}

for (const driver of ['overlay', 'vfs'] as const) {
  describe(`concurrent and cancelled pulls on ${driver}`, () => {
    it('two pulls of one image at once: each blob fetched once, both succeed, both see the progress', async (t) => {
      if (!need(t, { root: true, programs: ['skopeo'] })) return;
      const reg = await startRegistry(t);
      const proxy = await startRegistryProxy(t, reg.url);
      const layers = [await randomLayer(2, 50_000), await randomLayer(4, 500_000), await randomLayer(1, 100)];
      const image = imageOf(layers);
      await push(t, reg.host, 'together/app:1', image);
      const engine = await engineFor(t, driver);
      const big = layers[1]!;
      proxy.holdAfter.set(big.digest, 100_000);

      const a = collector();
      const b = collector();
      const pulls = Promise.all([
        pullImage(engine, `${proxy.host}/together/app:1`, { onMessage: a.sink }),
        pullImage(engine, `${proxy.host}/together/app:1`, { onMessage: b.sink }),
      ]);
      pulls.catch(() => {});
      // Both pulls have reached the big layer while its download is held part way.
      await proxy.held;
      await waitFor(async () => [a, b].every((c) => layerStatuses(c.messages, shortId(big.digest)).length > 0), 'both pulls at the layers');
      proxy.release();
      const [ra, rb] = await pulls;

      assert.equal(ra.image.id, image.config.digest);
      assert.equal(rb.image.id, image.config.digest);
      for (const l of [...layers, image.config]) assert.equal(proxy.blobGets.get(l.digest), 1, `blob ${l.digest} fetched once`);
      for (const c of [a, b]) {
        const s = layerStatuses(c.messages, shortId(big.digest));
        assert.ok(s.includes('Downloading') && s.includes('Download complete') && s.at(-1) === 'Pull complete', s.join(' > '));
      }
      await assertFiles(t, engine, chainIds(layers.map((l) => l.diffId as Digest))[2]!, layers);
    });

    it('one caller aborting does not stop another pulling the same image', async (t) => {
      if (!need(t, { root: true, programs: ['skopeo'] })) return;
      const reg = await startRegistry(t);
      const proxy = await startRegistryProxy(t, reg.url);
      const layers = [await randomLayer(2, 300_000), await randomLayer(1, 100)];
      await push(t, reg.host, 'together/abort:1', imageOf(layers));
      const engine = await engineFor(t, driver);
      proxy.holdAfter.set(layers[0]!.digest, 10_000);
      const quitter = new AbortController();
      const first = pullImage(engine, `${proxy.host}/together/abort:1`, { signal: quitter.signal });
      first.catch(() => {});
      await proxy.held;
      const b = collector();
      const second = pullImage(engine, `${proxy.host}/together/abort:1`, { onMessage: b.sink });
      await waitFor(async () => layerStatuses(b.messages, shortId(layers[0]!.digest)).length > 0, 'the second pull at the layers');
      quitter.abort(new Error('first caller gave up'));
      await assert.rejects(first, /first caller gave up/);
      proxy.release();
      const r = await second;
      assert.equal(r.status, 'downloaded');
      assert.equal(proxy.blobGets.get(layers[0]!.digest), 1, 'the shared download went on');
    });

    it('abort mid-download: the error is the abort, nothing partial is visible; the next pull fetches only what is missing', async (t) => {
      if (!need(t, { root: true, programs: ['skopeo'] })) return;
      const reg = await startRegistry(t);
      const proxy = await startRegistryProxy(t, reg.url);
      const layers = [await randomLayer(1, 1000), await randomLayer(1, 2000), await randomLayer(3, 400_000), await randomLayer(1, 500)];
      const image = imageOf(layers);
      await push(t, reg.host, 'cancel/app:1', image);
      const engine = await engineFor(t, driver);
      const big = layers[2]!;
      proxy.holdAfter.set(big.digest, 200_000);
      const controller = new AbortController();
      const c = collector();
      const pull = pullImage(engine, `${proxy.host}/cancel/app:1`, { signal: controller.signal, onMessage: c.sink });
      pull.catch(() => {});
      await proxy.held;
      // The small layers finish meanwhile (layer 3 waits for a download slot, then completes too).
      await waitFor(async () => [0, 1, 3].every((i) => layerStatuses(c.messages, shortId(layers[i]!.digest)).includes('Download complete')), 'the small layers');
      controller.abort(new Error('user pressed ^C'));
      await assert.rejects(pull, /user pressed \^C/);
      proxy.release();

      assert.deepEqual(engine.images.all(), []);
      const stored = await contentList(engine);
      assert.ok(!stored.includes(big.digest), 'the partial blob is not visible');
      for (const i of [0, 1, 3]) assert.ok(stored.includes(layers[i]!.digest), `layer ${i} was fully ingested and stays`);
      const keys = await snapshotKeys(engine);
      assert.ok(keys.every((k) => k.startsWith('committed:')), keys.join(', '));
      assert.ok(keys.length <= 2, 'at most the two layers below the missing one are committed');

      proxy.reset();
      const r = await pullImage(engine, `${proxy.host}/cancel/app:1`);
      assert.equal(r.image.id, image.config.digest);
      assert.deepEqual([...proxy.blobGets.keys()], [big.digest], 'only the missing blob is fetched');
      await assertFiles(t, engine, chainIds(layers.map((l) => l.diffId as Digest))[3]!, layers);
    });

    it('abort mid-extraction leaves no snapshot of that layer, committed or active', async (t) => {
      if (!need(t, { root: true, programs: ['skopeo'] })) return;
      const reg = await startRegistry(t);
      const layers = [await randomLayer(40, 200_000)];
      await push(t, reg.host, 'cancel/extract:1', imageOf(layers));
      const engine = await engineFor(t, driver);
      const controller = new AbortController();
      const pull = pullImage(engine, `${reg.host}/cancel/extract:1`, {
        signal: controller.signal,
        onMessage: (m) => {
          if (m.status === 'Extracting' && (m.progressDetail?.current ?? 0) < (m.progressDetail?.total ?? 0)) controller.abort(new Error('stop extracting'));
        },
      });
      await assert.rejects(pull, /stop extracting/);
      assert.deepEqual(await snapshotKeys(engine), []);
      assert.deepEqual(engine.images.all(), []);
      assert.ok(await engine.content.has(layers[0]!.digest as Digest), 'the downloaded blob stays for the next pull');
      const again = await pullImage(engine, `${reg.host}/cancel/extract:1`);
      await assertFiles(t, engine, again.image.diffIds[0]!, layers);
    });
  });
}
