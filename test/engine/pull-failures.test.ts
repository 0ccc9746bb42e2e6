/**
 * A pull that goes wrong leaves nothing half-made: a blob served with wrong bytes, a layer that
 * climbs out of its root, a hardlink to a host file, a DiffID that does not match. Each fails with
 * a clear error, records no image, commits no snapshot for the bad layer (or above it), leaves no
 * active snapshot behind and writes nothing outside; a symlink escape is resolved inside the root.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Digest } from '../../shared/digest.js';
import { isTsdError } from '../../shared/errors.js';
import { pullImage } from '../../engine/images/pull.js';
import { chainIds } from '../../engine/images/unpack-image.js';
import { need } from '../helpers/env.js';
import { startRegistry } from '../helpers/registry.js';
import { engineFor, imageOf, layerOf, push, randomLayer, readThrough, snapshotKeys, startRegistryProxy } from './pull-lib.js';

for (const driver of ['overlay', 'vfs'] as const) {
  describe(`failed pulls on ${driver}`, () => {
    it('a blob served with wrong bytes fails with DIGEST_INVALID: no image, no blob, no snapshot for it; a clean retry works', async (t) => {
      if (!need(t, { root: true, programs: ['skopeo'] })) return;
      const reg = await startRegistry(t);
      const proxy = await startRegistryProxy(t, reg.url);
      const layers = [await randomLayer(2, 100_000), await randomLayer(2, 100_000), await randomLayer(1, 100)];
      const image = imageOf(layers);
      await push(t, reg.host, 'bad/bytes:1', image);
      const engine = await engineFor(t, driver);
      proxy.corrupt.add(layers[1]!.digest);
      await assert.rejects(pullImage(engine, `${proxy.host}/bad/bytes:1`), (err: unknown) => {
        assert.ok(isTsdError(err, 'DIGEST_INVALID'), String(err));
        assert.match((err as Error).message, new RegExp(layers[1]!.digest));
        return true;
      });
      assert.deepEqual(engine.images.all(), [], 'no image record');
      assert.equal(await engine.content.has(layers[1]!.digest as Digest), false, 'the bad blob is not stored');
      const chains = chainIds(layers.map((l) => l.diffId as Digest));
      const keys = await snapshotKeys(engine);
      assert.ok(!keys.some((k) => k.endsWith(chains[1]!) || k.endsWith(chains[2]!)), `no snapshot of the bad layer or above: ${keys.join(', ')}`);
      assert.ok(keys.every((k) => k.startsWith('committed:')), `no active snapshot left: ${keys.join(', ')}`);

      proxy.corrupt.clear();
      proxy.reset();
      const r = await pullImage(engine, `${proxy.host}/bad/bytes:1`);
      assert.equal(r.image.id, image.config.digest);
      assert.equal(proxy.blobGets.get(layers[1]!.digest), 1, 'the bad layer is fetched again');
      assert.ok(!proxy.blobGets.has(layers[0]!.digest) || (await engine.content.has(layers[0]!.digest as Digest)), 'the good bottom layer stays');
    });

    it('the bottom layer (extracted from its download as it arrives) served with wrong bytes: DIGEST_INVALID, nothing kept', async (t) => {
      if (!need(t, { root: true, programs: ['skopeo'] })) return;
      const reg = await startRegistry(t);
      const proxy = await startRegistryProxy(t, reg.url);
      const layers = [await randomLayer(4, 300_000), await randomLayer(1, 100)];
      await push(t, reg.host, 'bad/bottom:1', imageOf(layers));
      const engine = await engineFor(t, driver);
      proxy.corrupt.add(layers[0]!.digest);
      await assert.rejects(pullImage(engine, `${proxy.host}/bad/bottom:1`), (err: unknown) => {
        assert.ok(isTsdError(err, 'DIGEST_INVALID'), String(err));
        assert.match((err as Error).message, new RegExp(`content digest .* does not match ${layers[0]!.digest}`));
        return true;
      });
      assert.deepEqual(engine.images.all(), []);
      assert.deepEqual(await snapshotKeys(engine), [], 'no snapshot, committed or active');
      assert.equal(await engine.content.has(layers[0]!.digest as Digest), false);
    });

    it('a layer entry climbing out with ../ fails cleanly and writes nothing outside', async (t) => {
      if (!need(t, { root: true, programs: ['skopeo'] })) return;
      const reg = await startRegistry(t);
      const escape = `/tmp/tsd-pull-escape-${randomBytes(4).toString('hex')}`;
      t.after(() => rmSync(escape, { force: true, recursive: true }));
      const good = await randomLayer();
      const hostile = await layerOf([
        { name: 'ok', data: 'fine' },
        { name: `../../../../../../../../..${escape}`, data: 'escaped' },
      ]);
      const image = imageOf([good, hostile]);
      await push(t, reg.host, 'bad/escape:1', image);
      const engine = await engineFor(t, driver);
      await assert.rejects(pullImage(engine, `${reg.host}/bad/escape:1`), (err: unknown) => {
        assert.ok(isTsdError(err, 'INVALID_ARGUMENT'), String(err));
        assert.equal((err.detail as { reason?: string }).reason, 'path-escape', err.message);
        return true;
      });
      assert.equal(existsSync(escape), false, 'nothing written outside');
      assert.deepEqual(engine.images.all(), []);
      assert.deepEqual(await snapshotKeys(engine), [`committed:${good.diffId}`], 'only the good layer is committed');
    });

    it('a hardlink to a host file fails; the host file is untouched', async (t) => {
      if (!need(t, { root: true, programs: ['skopeo'] })) return;
      const reg = await startRegistry(t);
      const before = lstatSync('/etc/passwd');
      const hostile = await layerOf([{ name: 'pw', type: 'link', linkname: '../../../../../../../../etc/passwd' }]);
      await push(t, reg.host, 'bad/link:1', imageOf([hostile]));
      const engine = await engineFor(t, driver);
      await assert.rejects(pullImage(engine, `${reg.host}/bad/link:1`), (err: unknown) => isTsdError(err, 'INVALID_ARGUMENT'));
      const after = lstatSync('/etc/passwd');
      assert.equal(after.nlink, before.nlink);
      assert.equal(after.ino, before.ino);
      assert.deepEqual(await snapshotKeys(engine), []);
      assert.deepEqual(engine.images.all(), []);
    });

    it('a symlink to a host directory, then a write through it, lands inside the snapshot', async (t) => {
      if (!need(t, { root: true, programs: ['skopeo'] })) return;
      const reg = await startRegistry(t);
      const decoy = `/tmp/tsd-pull-decoy-${randomBytes(4).toString('hex')}`;
      mkdirSync(decoy);
      writeFileSync(join(decoy, 'keep'), 'decoy');
      t.after(() => rmSync(decoy, { force: true, recursive: true }));
      const layer = await layerOf([
        { name: 'd', type: 'symlink', linkname: decoy },
        { name: 'd/pwned', data: 'inside' },
      ]);
      await push(t, reg.host, 'bad/symlink:1', imageOf([layer]));
      const engine = await engineFor(t, driver);
      await pullImage(engine, `${reg.host}/bad/symlink:1`);
      assert.deepEqual(readdirSync(decoy), ['keep'], 'the host directory is untouched');
      const seen = await readThrough(t, engine, layer.diffId, [`${decoy.slice(1)}/pwned`]);
      assert.equal(seen.get(`${decoy.slice(1)}/pwned`)?.toString(), 'inside');
    });

    it('a DiffID that does not match the config fails with DIGEST_INVALID; no snapshot committed for it', async (t) => {
      if (!need(t, { root: true, programs: ['skopeo'] })) return;
      const reg = await startRegistry(t);
      const layers = [await randomLayer(), await randomLayer()];
      const forged = imageOf(layers, { diffIds: [layers[0]!.diffId, `sha256:${'0'.repeat(64)}`] });
      await push(t, reg.host, 'bad/diffid:1', forged);
      const engine = await engineFor(t, driver);
      await assert.rejects(pullImage(engine, `${reg.host}/bad/diffid:1`), (err: unknown) => {
        assert.ok(isTsdError(err, 'DIGEST_INVALID'), String(err));
        assert.match((err as Error).message, /DiffID/);
        return true;
      });
      assert.deepEqual(engine.images.all(), []);
      assert.deepEqual(await snapshotKeys(engine), [`committed:${layers[0]!.diffId}`]);
    });
  });
}
