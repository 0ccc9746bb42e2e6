// Pull-through cache, the read path: first pull through the mirror, what gets stored, no second
// upstream fetch, single-flight for concurrent requests, streaming while caching, clients that
// leave, and a corrupt upstream.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { test } from 'node:test';
import { waitFor } from '../helpers/env.js';
import { makeBlob, makeIndex, MediaTypes, OciClient, sha256 as sha, type Blob } from '../helpers/oci-client.js';
import { startRegistry } from '../helpers/registry.js';
import { assertBlob, blobDataPath, pushImage, sha256, startCountingProxy, storedLocally, timedGet, uploadLeftovers } from './lib.js';

const T = { timeout: 60_000 };

type Hooks = { after(fn: () => unknown): void };

/** An upstream registry (ours), a counting proxy in front of it, and a mirror of it. */
async function setup(t: Hooks, proxyExtra: Record<string, unknown> = {}) {
  const upstream = await startRegistry(t);
  const counter = await startCountingProxy(t, upstream.url);
  const mirror = await startRegistry(t, { config: { log: { level: 'info' }, proxy: { remoteurl: counter.url, ...proxyExtra } } });
  return { upstream, counter, mirror, up: new OciClient(upstream.url), mc: new OciClient(mirror.url) };
}

/** Push one blob of `size` random bytes into `name` upstream. */
async function pushBigBlob(client: OciClient, name: string, size: number): Promise<Blob> {
  const blob = makeBlob(randomBytes(size));
  await client.pushBlob(name, blob);
  return blob;
}

test('first pull through the mirror: exact bytes and digests, stored locally, second pull makes no upstream fetch', T, async (t) => {
  const { counter, mirror, up, mc } = await setup(t);
  const name = 'library/app';
  const image = await pushImage(up, name, '1');

  const m = await mc.getManifest(name, '1');
  assert.equal(m.status, 200, m.text());
  assert.ok(m.body.equals(image.bytes), 'manifest bytes are the upstream bytes');
  assert.equal(m.headers.get('docker-content-digest'), image.digest);
  assert.equal(m.headers.get('content-type'), MediaTypes.ociManifest);
  for (const b of image.blobs) await assertBlob(mc, name, b, 'first pull');
  const head = await mc.headBlob(name, image.blobs[1]!.digest);
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), String(image.blobs[1]!.size));

  // Stored locally: blob data, the repository's links, the manifest revision and the tag.
  for (const b of image.blobs) assert.ok(storedLocally(mirror.rootDirectory, name, b.digest), `blob ${b.digest} stored in the mirror`);
  assert.deepEqual(await uploadLeftovers(mirror.rootDirectory, name), [], 'no ingest leftovers');
  const blobGets = counter.count('GET', /\/blobs\/sha256:/);
  assert.equal(blobGets, image.blobs.length, 'one upstream GET per blob');

  // Second pull: manifest (tag within ttl, and by digest) and blobs, nothing upstream.
  counter.reset();
  const again = await mc.getManifest(name, '1');
  assert.ok(again.body.equals(image.bytes));
  assert.ok((await mc.getManifest(name, image.digest)).body.equals(image.bytes));
  for (const b of image.blobs) await assertBlob(mc, name, b, 'second pull');
  assert.deepEqual(counter.requests, [], 'the second pull made no upstream request');

  // Ranges of a cached blob.
  const ranged = await mc.getBlob(name, image.blobs[1]!.digest, { range: 'bytes=10-19' });
  assert.equal(ranged.status, 206);
  assert.ok(ranged.body.equals(image.blobs[1]!.data.subarray(10, 20)));

  // Tag list is the upstream's.
  const tags = await mc.listTags(name);
  assert.equal(tags.status, 200, tags.text());
  assert.deepEqual(tags.json().tags, ['1']);
  assert.match(mirror.output(), /pull-through cache enabled/);
});

test('an index is served, and its children and their blobs are fetched only when asked for', T, async (t) => {
  const { counter, mc, up, mirror } = await setup(t);
  const name = 'library/multi';
  const a = await up.makeImage(name);
  await up.pushManifest(name, a.digest, a);
  const b = await up.makeImage(name, { format: 'docker' });
  await up.pushManifest(name, b.digest, b);
  const index = makeIndex([a, b]);
  await up.pushManifest(name, 'multi', index);

  const got = await mc.getManifest(name, 'multi');
  assert.equal(got.status, 200);
  assert.ok(got.body.equals(index.bytes));
  assert.equal(got.headers.get('content-type'), MediaTypes.ociIndex);
  assert.equal(counter.count('GET', new RegExp(`/manifests/${a.digest}`)), 0, 'children are not fetched eagerly');
  assert.equal(counter.count('GET', /\/blobs\//), 0);

  const child = await mc.getManifest(name, b.digest);
  assert.equal(child.status, 200);
  assert.ok(child.body.equals(b.bytes));
  assert.equal(child.headers.get('content-type'), MediaTypes.dockerManifest, 'the upstream Content-Type is kept');
  assert.equal(counter.count('GET', new RegExp(`/manifests/${b.digest}`)), 1);
  assert.equal(counter.count('GET', new RegExp(`/manifests/${a.digest}`)), 0);
  await assertBlob(mc, name, b.blobs[0]!);
  assert.ok(!existsSync(blobDataPath(mirror.rootDirectory, a.blobs[0]!.digest)), 'the other child\'s blobs were not fetched');

  // Unknown content upstream is unknown here.
  const missing = await mc.getBlob(name, sha('nothing'));
  assert.equal(missing.status, 404);
  assert.equal(missing.json().errors[0].code, 'BLOB_UNKNOWN');
  const missingTag = await mc.getManifest(name, 'nope');
  assert.equal(missingTag.status, 404);
  assert.equal(missingTag.json().errors[0].code, 'MANIFEST_UNKNOWN');
});

test('5 concurrent GETs of one uncached 20 MiB blob make exactly one upstream GET, and all stream along', T, async (t) => {
  const { counter, up, mirror } = await setup(t);
  const name = 'library/big';
  const blob = await pushBigBlob(up, name, 20 * 1024 * 1024);
  counter.throttle = 20 * 1024 * 1024; // ~1 s upstream: the five requests overlap it
  const started = Date.now();
  const results = await Promise.all(Array.from({ length: 5 }, () => timedGet(`${mirror.url}/v2/${name}/blobs/${blob.digest}`)));
  const upstreamGet = counter.requests.find((x) => x.method === 'GET' && x.path.includes(blob.digest));
  for (const [i, r] of results.entries()) {
    assert.equal(r.status, 200, `request ${i}: ${r.status}`);
    assert.equal(r.body.length, blob.size, `request ${i} length`);
    assert.equal(sha256(r.body), blob.digest, `request ${i} bytes`);
    assert.ok(r.firstByteAt < upstreamGet!.finishedAt!, `request ${i} got bytes before the upstream finished (streamed along)`);
  }
  t.diagnostic(`first bytes after ${results.map((r) => r.firstByteAt - started).join(', ')} ms; upstream finished after ${upstreamGet!.finishedAt! - started} ms`);
  assert.equal(counter.count('GET', `/v2/${name}/blobs/${blob.digest}`), 1, 'one upstream GET');
  assert.ok(storedLocally(mirror.rootDirectory, name, blob.digest));
  assert.deepEqual(await uploadLeftovers(mirror.rootDirectory, name), []);
});

test('the first bytes of a large uncached blob reach the client before the upstream has sent it all', T, async (t) => {
  const { counter, mc, up, mirror } = await setup(t);
  const name = 'library/slow';
  const blob = await pushBigBlob(up, name, 6 * 1024 * 1024);
  counter.throttle = 4 * 1024 * 1024; // 1.5 s for the upstream transfer
  const started = Date.now();
  const r = await timedGet(`${mirror.url}/v2/${name}/blobs/${blob.digest}`);
  assert.equal(r.status, 200);
  assert.equal(sha256(r.body), blob.digest);
  const upstreamGet = counter.requests.find((x) => x.method === 'GET' && x.path.includes(blob.digest));
  assert.ok(upstreamGet?.finishedAt, 'the upstream transfer finished');
  const firstByte = r.firstByteAt - started;
  const upstreamDone = upstreamGet.finishedAt - started;
  t.diagnostic(`first byte after ${firstByte} ms; upstream finished after ${upstreamDone} ms; client done after ${r.endAt - started} ms`);
  assert.ok(firstByte < upstreamDone - 700, `first byte (${firstByte} ms) long before the upstream finished (${upstreamDone} ms)`);
  assert.ok(storedLocally(mirror.rootDirectory, name, blob.digest));
});

test('a client that disconnects mid-way does not stop the caching; the next one is served locally', T, async (t) => {
  const { counter, mc, up, mirror } = await setup(t);
  const name = 'library/leaver';
  const blob = await pushBigBlob(up, name, 4 * 1024 * 1024);
  counter.throttle = 8 * 1024 * 1024;
  await new Promise<void>((resolve, reject) => {
    const req = httpRequest(`${mirror.url}/v2/${name}/blobs/${blob.digest}`, { agent: false }, (res) => {
      assert.equal(res.statusCode, 200);
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', (err) => (err.message.includes('socket hang up') || (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
    req.end();
  });
  await waitFor(async () => storedLocally(mirror.rootDirectory, name, blob.digest), 'the blob to be stored after the client left', 10_000);
  counter.throttle = undefined;
  await assertBlob(mc, name, blob, 'after the first client left');
  assert.equal(counter.count('GET', /\/blobs\//), 1, 'still one upstream GET');
});

test('a corrupt upstream blob is not stored and fails the client\'s response', T, async (t) => {
  const { counter, mc, up, mirror } = await setup(t);
  const name = 'library/corrupt';
  const blob = await pushBigBlob(up, name, 512 * 1024);
  counter.fault = 'corrupt-blobs';
  let failed = false;
  try {
    const r = await mc.getBlob(name, blob.digest);
    failed = r.status !== 200 || sha256(r.body) !== blob.digest;
    assert.ok(r.status !== 200 || r.body.length < blob.size, 'the client never gets the whole corrupt blob');
  } catch {
    failed = true; // the response was cut off
  }
  assert.ok(failed, 'the client saw a failure');
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(!existsSync(blobDataPath(mirror.rootDirectory, blob.digest)), 'nothing stored under the digest');
  assert.deepEqual(await uploadLeftovers(mirror.rootDirectory, name), [], 'the ingest file was removed');
  assert.match(mirror.output(), /blob fetch failed/);

  counter.fault = undefined;
  await assertBlob(mc, name, blob, 'after the upstream recovered');
  assert.ok(storedLocally(mirror.rootDirectory, name, blob.digest));
});

test('blob GETs redirected by the upstream (to storage) are followed', T, async (t) => {
  const { counter, mc, up, mirror } = await setup(t);
  const name = 'library/redirected';
  const image = await pushImage(up, name, '1');
  counter.fault = 'redirect-blobs';
  assert.equal((await mc.getManifest(name, '1')).status, 200);
  for (const b of image.blobs) await assertBlob(mc, name, b, 'redirected');
  assert.equal(counter.requests.filter((r) => r.status === 307).length, image.blobs.length);
  for (const b of image.blobs) assert.ok(storedLocally(mirror.rootDirectory, name, b.digest));
});

test('a request joining a download past its in-memory window gets the whole blob once it is stored', T, async (t) => {
  const { counter, up, mirror } = await setup(t);
  const name = 'library/late';
  const blob = await pushBigBlob(up, name, 20 * 1024 * 1024);
  counter.throttle = 16 * 1024 * 1024; // the 16 MiB replay window is passed after ~1 s
  const url = `${mirror.url}/v2/${name}/blobs/${blob.digest}`;
  const early = timedGet(url);
  await new Promise((r) => setTimeout(r, 1100));
  const late = await timedGet(url);
  for (const r of [await early, late]) {
    assert.equal(r.status, 200);
    assert.equal(sha256(r.body), blob.digest);
  }
  assert.equal(counter.count('GET', /\/blobs\//), 1, 'one upstream GET');
});
