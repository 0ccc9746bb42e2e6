/**
 * Pull against real registries on loopback (ours and CNCF distribution), images pushed there by
 * skopeo, on both storage drivers: the record, the unpacked files, what a second pull and a pull
 * of an image sharing layers fetch (counted by a proxy), platforms of an index, zstd and
 * uncompressed layers, pulls by digest, and docker's error messages.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Digest } from '../../shared/digest.js';
import { isTsdError } from '../../shared/errors.js';
import { pullImage } from '../../engine/images/pull.js';
import { chainIds } from '../../engine/images/unpack-image.js';
import { need } from '../helpers/env.js';
import { startDistribution } from '../helpers/distribution.js';
import { startRegistry } from '../helpers/registry.js';
import {
  assertFiles,
  collector,
  engineFor,
  imageOf,
  indexOf,
  layerStatuses,
  push,
  randomLayer,
  snapshotKeys,
  startRegistryProxy,
} from './pull-lib.js';
import { shortId } from '../../engine/images/json-message.js';

for (const driver of ['overlay', 'vfs'] as const) {
  describe(`pull on ${driver}`, () => {
    it('records the image, unpacks every layer; a second pull fetches nothing and is up to date', async (t) => {
      if (!need(t, { root: true, programs: ['skopeo'] })) return;
      const reg = await startRegistry(t);
      const proxy = await startRegistryProxy(t, reg.url);
      const layers = [await randomLayer(3, 100_000), await randomLayer(2, 300_000), await randomLayer(1, 10)];
      const image = imageOf(layers);
      await push(t, reg.host, 'team/app:v1', image);
      const engine = await engineFor(t, driver);

      const first = collector();
      const result = await pullImage(engine, `${proxy.host}/team/app:v1`, { onMessage: first.sink });
      assert.equal(result.status, 'downloaded');
      assert.equal(result.reference, `${proxy.host}/team/app:v1`);
      assert.equal(result.digest, image.manifest.digest);
      assert.equal(result.image.id, image.config.digest, 'the image ID is the config digest');
      assert.deepEqual(result.image.repoTags, [`${proxy.host}/team/app:v1`]);
      assert.deepEqual(result.image.repoDigests, [`${proxy.host}/team/app@${image.manifest.digest}`]);
      assert.deepEqual(
        result.image.layers.map((l) => l.digest),
        layers.map((l) => l.digest),
      );
      const chains = chainIds(layers.map((l) => l.diffId as Digest));
      assert.deepEqual(await snapshotKeys(engine), chains.map((c) => `committed:${c}`).sort(), 'one committed snapshot per layer, nothing else');
      await assertFiles(t, engine, chains[2]!, layers);
      for (const l of layers) assert.equal(proxy.blobGets.get(l.digest), 1, 'each layer fetched once');
      assert.equal(proxy.blobGets.get(image.config.digest), 1);
      assert.equal(await engine.content.has(image.manifest.digest as Digest), true, 'the manifest is stored');
      assert.ok((await engine.content.get(image.manifest.digest as Digest)).equals(image.manifest.bytes), 'as the exact bytes received');

      assert.deepEqual(first.messages[0], { status: 'Pulling from team/app', id: 'v1' });
      for (const l of layers) {
        const s = layerStatuses(first.messages, shortId(l.digest));
        assert.equal(s[0], 'Pulling fs layer');
        assert.ok(s.includes('Download complete') && s.indexOf('Download complete') < s.indexOf('Extracting'), s.join(' > '));
        assert.equal(s[s.length - 1], 'Pull complete');
      }
      assert.deepEqual(first.messages.slice(-2), [
        { status: `Digest: ${image.manifest.digest}` },
        { status: `Status: Downloaded newer image for ${proxy.host}/team/app:v1` },
      ]);

      proxy.reset();
      const second = collector();
      const again = await pullImage(engine, `${proxy.host}/team/app:v1`, { onMessage: second.sink });
      assert.equal(again.status, 'up-to-date');
      assert.equal(proxy.totalBlobBytes(), 0, 'no blob bytes the second time');
      assert.equal(proxy.blobGets.size, 0, 'no blob requests the second time');
      assert.deepEqual(second.messages, [
        { status: 'Pulling from team/app', id: 'v1' },
        { status: `Digest: ${image.manifest.digest}` },
        { status: `Status: Image is up to date for ${proxy.host}/team/app:v1` },
      ]);
    });

    it('an image sharing base layers with one already pulled fetches only its new layers', async (t) => {
      if (!need(t, { root: true, programs: ['skopeo'] })) return;
      const reg = await startRegistry(t);
      const proxy = await startRegistryProxy(t, reg.url);
      const base = [await randomLayer(), await randomLayer()];
      const extra = [await randomLayer(), await randomLayer()];
      await push(t, reg.host, 'team/base:1', imageOf(base));
      const derived = imageOf([...base, ...extra]);
      await push(t, reg.host, 'team/derived:1', derived);
      const engine = await engineFor(t, driver);
      await pullImage(engine, `${proxy.host}/team/base:1`);
      proxy.reset();

      const c = collector();
      const r = await pullImage(engine, `${proxy.host}/team/derived:1`, { onMessage: c.sink });
      assert.equal(r.status, 'downloaded');
      for (const l of base) {
        assert.deepEqual(layerStatuses(c.messages, shortId(l.digest)), ['Already exists']);
        assert.equal(proxy.blobGets.get(l.digest), undefined, 'a shared layer is not fetched');
      }
      for (const l of extra) {
        assert.equal(proxy.blobGets.get(l.digest), 1);
        assert.equal(layerStatuses(c.messages, shortId(l.digest)).at(-1), 'Pull complete');
      }
      const chains = chainIds(derived.layers.map((l) => l.diffId as Digest));
      assert.equal((await snapshotKeys(engine)).length, 4, 'the two images share two snapshots');
      await assertFiles(t, engine, chains[3]!, derived.layers);
      assert.equal(engine.images.all().length, 2);
    });

    it('zstd and uncompressed layers are pulled as they are and unpacked', async (t) => {
      if (!need(t, { root: true, programs: ['skopeo', 'zstd'] })) return;
      const reg = await startRegistry(t);
      const layers = [await randomLayer(2, 50_000, 'zstd'), await randomLayer(2, 50_000, 'none'), await randomLayer(1, 1000, 'gzip')];
      const image = imageOf(layers);
      await push(t, reg.host, 'mixed/img:1', image);
      const engine = await engineFor(t, driver);
      const r = await pullImage(engine, `${reg.host}/mixed/img:1`);
      assert.deepEqual(
        r.image.layers.map((l) => l.mediaType),
        layers.map((l) => l.mediaType),
      );
      assert.deepEqual(
        r.image.layers.map((l) => l.digest),
        layers.map((l) => l.digest),
        'skopeo kept the digests, and so did the pull',
      );
      await assertFiles(t, engine, chainIds(layers.map((l) => l.diffId as Digest))[2]!, layers);
    });
  });
}

describe('pull: platforms, digests, errors', () => {
  it('a multi-arch index: --platform picks the matching manifest; a missing platform fails as docker says', async (t) => {
    if (!need(t, { root: true, programs: ['skopeo'] })) return;
    const reg = await startRegistry(t);
    const amd64 = imageOf([await randomLayer()], { platform: { os: 'linux', architecture: 'amd64' } });
    const arm64 = imageOf([await randomLayer()], { platform: { os: 'linux', architecture: 'arm64' } });
    const index = indexOf([amd64, arm64]);
    await push(t, reg.host, 'multi/app:1', index);
    const engine = await engineFor(t, 'vfs');

    const r = await pullImage(engine, `${reg.host}/multi/app:1`, { platform: { os: 'linux', architecture: 'arm64' } });
    assert.equal(r.image.id, arm64.config.digest);
    assert.equal(r.digest, index.index.digest, 'the reference resolved to the index');
    assert.deepEqual(r.image.repoDigests, [`${reg.host}/multi/app@${index.index.digest}`]);
    assert.deepEqual(r.image.platform, { os: 'linux', architecture: 'arm64' });
    assert.equal(await engine.content.has(amd64.layers[0]!.digest as Digest), false, 'the other platform is not fetched');

    const c = collector();
    await assert.rejects(pullImage(engine, `${reg.host}/multi/app:1`, { platform: { os: 'linux', architecture: 's390x' }, onMessage: c.sink }), (err: unknown) => {
      assert.ok(isTsdError(err, 'NOT_FOUND'), String(err));
      assert.equal((err as Error).message, 'no matching manifest for linux/s390x in the manifest list entries');
      return true;
    });
    assert.deepEqual(c.messages, [{ status: 'Pulling from multi/app', id: '1' }], 'as dockerd: the header, then the error');
  });

  it('by digest: no tag, a repo digest, the header names the reference', async (t) => {
    if (!need(t, { root: true, programs: ['skopeo'] })) return;
    const reg = await startRegistry(t);
    const image = imageOf([await randomLayer()]);
    await push(t, reg.host, 'bydigest/app:1', image);
    const engine = await engineFor(t, 'vfs');
    const ref = `${reg.host}/bydigest/app@${image.manifest.digest}`;
    const c = collector();
    const r = await pullImage(engine, ref, { onMessage: c.sink });
    assert.deepEqual(r.image.repoTags, []);
    assert.deepEqual(r.image.repoDigests, [ref]);
    assert.deepEqual(c.messages[0], { status: 'Pulling from bydigest/app', id: ref });
    assert.deepEqual(c.messages.at(-1), { status: `Status: Downloaded newer image for ${ref}` });
    // Then by tag: nothing fetched, but the tag is new, so (as dockerd) "Downloaded newer image".
    const byTag = await pullImage(engine, `${reg.host}/bydigest/app:1`);
    assert.equal(byTag.status, 'downloaded');
    assert.equal((await pullImage(engine, `${reg.host}/bydigest/app:1`)).status, 'up-to-date');
    assert.equal((await pullImage(engine, ref)).status, 'up-to-date');
  });

  it('a missing tag or repository: docker\'s "manifest for X not found: manifest unknown"; nothing recorded', async (t) => {
    if (!need(t, { root: true })) return;
    const reg = await startRegistry(t);
    const engine = await engineFor(t, 'vfs');
    const c = collector();
    await assert.rejects(pullImage(engine, `${reg.host}/nothing/here:v9`, { onMessage: c.sink }), (err: unknown) => {
      assert.ok(isTsdError(err, 'MANIFEST_UNKNOWN'), String(err));
      assert.equal(err.status, 404);
      assert.match(err.message, new RegExp(`^manifest for ${reg.host}/nothing/here:v9 not found: manifest unknown: `));
      return true;
    });
    assert.deepEqual(c.messages, [], 'no progress before the manifest is known');
    assert.deepEqual(engine.images.all(), []);
    await assert.rejects(pullImage(engine, 'Bad//Ref'), (err: unknown) => isTsdError(err, 'INVALID_ARGUMENT'));
  });

  it('from CNCF distribution, on both drivers', async (t) => {
    if (!need(t, { root: true, programs: ['skopeo', 'docker-registry'] })) return;
    const dist = await startDistribution(t);
    const layers = [await randomLayer(2, 200_000), await randomLayer()];
    const image = imageOf(layers);
    await push(t, dist.host, 'peer/app:latest', image);
    for (const driver of ['overlay', 'vfs'] as const) {
      const engine = await engineFor(t, driver);
      const r = await pullImage(engine, `${dist.host}/peer/app`);
      assert.equal(r.reference, `${dist.host}/peer/app:latest`, 'no tag means latest');
      assert.equal(r.image.id, image.config.digest);
      await assertFiles(t, engine, chainIds(layers.map((l) => l.diffId as Digest))[1]!, layers);
    }
    const engine = await engineFor(t, 'vfs');
    await assert.rejects(pullImage(engine, `${dist.host}/peer/missing:1`), (err: unknown) => {
      assert.match(String((err as Error).message), new RegExp(`^manifest for ${dist.host}/peer/missing:1 not found: manifest unknown: manifest unknown$`));
      return true;
    });
  });
});
