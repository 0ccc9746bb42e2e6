/**
 * The tap that lets the bottom layer be extracted from its download: backpressure only once the
 * reader runs, never before (past the limit it lets go and the stored blob is read instead),
 * failures and detaching reach a waiting reader; and unpackLayer's fallback to the stored blob.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import type { Digest } from '../../shared/digest.js';
import { Tap } from '../../engine/images/pull-tap.js';
import { unpackLayer } from '../../engine/images/unpack-image.js';
import { need } from '../helpers/env.js';
import { assertFiles, engineFor, randomLayer } from './pull-lib.js';

const tick = () => new Promise((r) => setImmediate(r));

test('a started reader holds the writer back past the limit, and lets it go as it reads', async () => {
  const tap = new Tap(10);
  assert.equal(tap.start(), true);
  const it = tap[Symbol.asyncIterator]();
  let pushed = false;
  const p = tap.push(new Uint8Array(20)).then(() => (pushed = true));
  await tick();
  assert.equal(pushed, false, 'held: the reader is 20 bytes behind');
  assert.equal((await it.next()).value?.length, 20);
  await p;
  assert.equal(pushed, true);
  tap.end();
  assert.equal((await it.next()).done, true);
});

test('before the reader starts the writer never waits; past the limit the tap lets go', async () => {
  const tap = new Tap(10);
  await tap.push(new Uint8Array(8));
  await tap.push(new Uint8Array(8));
  assert.equal(tap.start(), false, 'let go: the reader reads the stored blob');
  await tap.push(new Uint8Array(100));
});

test('a failure or a detach reaches a reader waiting for data', async () => {
  const failing = new Tap();
  failing.start();
  const waiting = failing[Symbol.asyncIterator]().next();
  failing.fail(new Error('digest mismatch'));
  await assert.rejects(waiting, /digest mismatch/);

  const detached = new Tap();
  detached.start();
  const next = detached[Symbol.asyncIterator]().next();
  detached.detach();
  assert.equal((await next).done, true);
});

test('unpackLayer reads the stored blob when the live bytes are no longer on offer', async (t) => {
  if (!need(t, { root: true })) return;
  const engine = await engineFor(t, 'vfs');
  const layer = await randomLayer(2, 10_000);
  await engine.content.ingest({ digest: layer.digest as Digest, size: layer.size }, () => Readable.from([layer.bytes]));
  let abandoned = 0;
  const did = await unpackLayer(
    engine,
    undefined,
    layer.diffId,
    { digest: layer.digest as Digest, mediaType: layer.mediaType, diffId: layer.diffId as Digest },
    { source: { start: () => undefined, complete: Promise.resolve(), abandon: () => abandoned++ }, onProgress: () => {} },
  );
  assert.equal(did, true);
  assert.ok(abandoned >= 1);
  await assertFiles(t, engine, layer.diffId, [layer]);
});
