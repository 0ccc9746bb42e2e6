// pushImage against our registry on loopback: what goes over the wire (through a counting proxy),
// what the registry then serves, the progress lines, repo digests, all-tags pushes, indexes,
// authentication and cancellation.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Digest } from '../../shared/digest.js';
import { isTsdError } from '../../shared/errors.js';
import { pushImage } from '../../engine/images/push.js';
import type { JSONMessage } from '../../engine/images/json-message.js';
import { freePort, tempDir } from '../helpers/env.js';
import { buildImage, buildIndex } from '../helpers/images.js';
import { sharedHooks } from '../helpers/oci-client.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { basic, password, tokenAuthConfig, writeHtpasswd } from '../auth/lib.js';
import { putBlobs } from './images/lib.js';
import {
  blobBodies,
  countingProxy,
  headAndTail,
  loadDockerArchive,
  loadOci,
  maxInFlight,
  registryBlob,
  registryManifest,
  sha256,
  shortHex,
  statusesById,
  tempEngine,
} from './push-helpers.js';

const shared = sharedHooks();
let reg: RunningRegistry;

before(async () => {
  reg = await startRegistry(shared.hooks);
});
after(() => shared.cleanup());

test('push: every blob and the manifest go up once; the registry serves the same digests; the repo digest is recorded', async (t) => {
  const engine = await tempEngine(t);
  const proxy = await countingProxy(t, reg.host);
  const image = await buildImage({ layers: 3, fileSize: 20_000 });
  const name = `${proxy.host}/team/app`;
  await loadOci(t, engine, [{ tag: `${name}:v1`, image }]);
  const messages: JSONMessage[] = [];

  const results = await pushImage(engine, `${name}:v1`, { onMessage: (m) => messages.push(m) });

  assert.deepEqual(results, [{ reference: `${name}:v1`, tag: 'v1', digest: image.manifest.digest, size: image.manifest.size }]);
  const served = await registryManifest(reg.url, 'team/app', 'v1');
  assert.equal(served.digest, image.manifest.digest);
  assert.ok(served.raw.equals(image.manifest.bytes), 'the manifest bytes are the stored ones');
  for (const b of [image.config, ...image.layers]) assert.ok((await registryBlob(reg.url, 'team/app', b.digest)).equals(b.bytes));
  // Each blob body went up exactly once, by a monolithic PUT.
  const bodies = blobBodies(proxy.log);
  assert.equal(bodies.length, 4, JSON.stringify(proxy.log));
  assert.ok(bodies.every((b) => b.method === 'PUT'));
  assert.deepEqual(bodies.map((b) => b.bytes).sort((a, b) => a - b), [image.config, ...image.layers].map((b) => b.size).sort((a, b) => a - b));

  // dockerd's lines: the repository, per layer (short DiffID, top layer first) Preparing -> Pushing -> Pushed, then the digest.
  assert.deepEqual(messages[0], { status: `The push refers to repository [${name}]` });
  const ids = image.layers.map((l) => shortHex(l.diffId)).reverse();
  assert.deepEqual(messages.slice(1, 4), ids.map((id) => ({ status: 'Preparing', progressDetail: {}, id })));
  const byId = statusesById(messages);
  assert.deepEqual([...byId.keys()], ids);
  for (const id of ids) assert.deepEqual(byId.get(id), ['Preparing', 'Pushing', 'Pushed'], id);
  const bars = messages.filter((m) => m.status === 'Pushing');
  for (const m of bars) {
    const layer = image.layers.find((l) => shortHex(l.diffId) === m.id)!;
    assert.equal(m.progressDetail!.total, layer.size);
    assert.match(m.progress!, /^\[=*> *\] +\d/);
  }
  for (const layer of image.layers) {
    const last = bars.filter((m) => m.id === shortHex(layer.diffId)).at(-1)!;
    assert.equal(last.progressDetail!.current, layer.size, 'the last bar is full');
  }
  assert.deepEqual(headAndTail(messages).slice(1), [
    { status: `v1: digest: ${image.manifest.digest} size: ${image.manifest.size}` },
    { progressDetail: {}, aux: { Tag: 'v1', Digest: image.manifest.digest, Size: image.manifest.size } },
  ]);
  const inspect = await engine.images.inspect(`${name}:v1`);
  assert.deepEqual(inspect.RepoDigests, [`${name}@${image.manifest.digest}`]);
});

test('push again: only HEADs and the manifest PUT, no blob body; every layer "Layer already exists"', async (t) => {
  const engine = await tempEngine(t);
  const proxy = await countingProxy(t, reg.host);
  const image = await buildImage({ layers: 3 });
  const name = `${proxy.host}/team/again`;
  await loadOci(t, engine, [{ tag: `${name}:v1`, image }]);
  await pushImage(engine, `${name}:v1`);
  proxy.log.length = 0;
  const messages: JSONMessage[] = [];

  const [result] = await pushImage(engine, `${name}:v1`, { onMessage: (m) => messages.push(m) });

  assert.equal(result!.digest, image.manifest.digest);
  assert.deepEqual(blobBodies(proxy.log), []);
  const methods = proxy.log.map((l) => `${l.method} ${l.path.replace(/sha256:[a-f0-9]{64}/, 'D')}`).sort();
  assert.deepEqual(methods, [
    ...Array(4).fill('HEAD /v2/team/again/blobs/D'),
    'PUT /v2/team/again/manifests/v1',
  ], JSON.stringify(proxy.log));
  for (const [id, statuses] of statusesById(messages)) assert.deepEqual(statuses, ['Preparing', 'Layer already exists'], id);
  assert.equal(statusesById(messages).size, 3);
});

test('push to another repository of the same registry: blobs are mounted from the first ("Mounted from team/src")', async (t) => {
  const engine = await tempEngine(t);
  const proxy = await countingProxy(t, reg.host);
  const image = await buildImage({ layers: 2, fileSize: 50_000 });
  await loadOci(t, engine, [{ tag: `${proxy.host}/team/src:v1`, image }]);
  await pushImage(engine, `${proxy.host}/team/src:v1`);
  await engine.images.tag(`${proxy.host}/team/src:v1`, `${proxy.host}/team/dst:v1`);
  proxy.log.length = 0;
  const messages: JSONMessage[] = [];

  await pushImage(engine, `${proxy.host}/team/dst:v1`, { onMessage: (m) => messages.push(m) });

  assert.deepEqual(blobBodies(proxy.log), [], 'no blob body was sent');
  const mounts = proxy.log.filter((l) => l.method === 'POST' && /mount=sha256/.test(l.path) && /from=team%2Fsrc/.test(l.path));
  assert.equal(mounts.length, 3, JSON.stringify(proxy.log));
  assert.ok(mounts.every((m) => m.status === 201));
  for (const [id, statuses] of statusesById(messages)) assert.deepEqual(statuses, ['Preparing', 'Mounted from team/src'], id);
  const served = await registryManifest(reg.url, 'team/dst', 'v1');
  assert.equal(served.digest, image.manifest.digest);
  for (const l of image.layers) await registryBlob(reg.url, 'team/dst', l.digest);
  const inspect = await engine.images.inspect(`${proxy.host}/team/dst:v1`);
  assert.deepEqual(inspect.RepoDigests.sort(), [`${proxy.host}/team/dst@${image.manifest.digest}`, `${proxy.host}/team/src@${image.manifest.digest}`]);
});

test('push NAME without a tag pushes every tag of NAME (sorted), and only those', async (t) => {
  const engine = await tempEngine(t);
  const one = await buildImage({ layers: 1 });
  const two = await buildImage({ layers: 1 });
  const name = `${reg.host}/team/all`;
  await loadOci(t, engine, [
    { tag: `${name}:b`, image: one },
    { tag: `${name}:a`, image: two },
    { tag: `${reg.host}/team/allother:c`, image: one },
  ]);
  await engine.images.tag(`${name}:b`, `${name}:c`);
  const messages: JSONMessage[] = [];

  const results = await pushImage(engine, name, { onMessage: (m) => messages.push(m) });

  assert.deepEqual(results.map((r) => [r.tag, r.digest]), [['a', two.manifest.digest], ['b', one.manifest.digest], ['c', one.manifest.digest]]);
  assert.equal(messages.filter((m) => m.status?.startsWith('The push refers to')).length, 1);
  assert.deepEqual(messages.filter((m) => m.aux).map((m) => m.aux!.Tag), ['a', 'b', 'c']);
  const tags = (await (await fetch(`${reg.url}/v2/team/all/tags/list`)).json()) as { tags: string[] };
  assert.deepEqual(tags.tags.sort(), ['a', 'b', 'c']);
  assert.equal((await fetch(`${reg.url}/v2/team/allother/tags/list`)).status, 404, 'another repository is not pushed');
});

test('push of an image not in the store: docker\'s error, after the repository line; nothing sent', async (t) => {
  const engine = await tempEngine(t);
  const proxy = await countingProxy(t, reg.host);
  const messages: JSONMessage[] = [];
  await assert.rejects(pushImage(engine, `${proxy.host}/team/nope:v1`, { onMessage: (m) => messages.push(m) }), (err) => {
    assert.ok(isTsdError(err, 'NOT_FOUND'));
    assert.equal(err.message, `An image does not exist locally with the tag: ${proxy.host}/team/nope`);
    return true;
  });
  await assert.rejects(pushImage(engine, `${proxy.host}/team/nope`), /An image does not exist locally with the tag: /);
  assert.deepEqual(messages, [{ status: `The push refers to repository [${proxy.host}/team/nope]` }]);
  await assert.rejects(pushImage(engine, `${proxy.host}/team/nope@sha256:${'a'.repeat(64)}`), (err) => isTsdError(err, 'INVALID_ARGUMENT'));
  await assert.rejects(pushImage(engine, 'Bad Name'), (err) => isTsdError(err, 'INVALID_ARGUMENT'));
  assert.deepEqual(proxy.log, []);
});

test('an image loaded from a docker archive keeps its layer digests byte for byte (uncompressed layers are not recompressed)', async (t) => {
  const engine = await tempEngine(t);
  const image = await buildImage({ layers: 2, format: 'docker' });
  const name = `${reg.host}/team/fromarchive`;
  await loadDockerArchive(t, engine, image, [`${name}:v1`]);
  const record = engine.images.resolve(`${name}:v1`).image;

  const [result] = await pushImage(engine, `${name}:v1`);

  assert.equal(result!.digest, record.target.digest);
  const served = await registryManifest(reg.url, 'team/fromarchive', 'v1');
  assert.equal(sha256(served.raw), record.target.digest);
  assert.ok(served.raw.equals(await engine.content.get(record.target.digest)));
  const manifest = JSON.parse(served.raw.toString('utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
  assert.equal(manifest.config.digest, image.config.digest, 'the config (image ID) is unchanged');
  // The archive's layers were plain tars: their digests are the DiffIDs, on the registry too.
  assert.deepEqual(manifest.layers.map((l) => l.digest), image.layers.map((l) => l.diffId));
  for (const l of image.layers) assert.ok((await registryBlob(reg.url, 'team/fromarchive', l.diffId)).equals(l.tar));
});

test('an index whose children are all in the content store goes up whole; otherwise its platform manifest', async (t) => {
  const engine = await tempEngine(t);
  const index = await buildIndex({ layers: 1 });
  await putBlobs(engine.images, [index.index, ...index.images.flatMap((i) => [i.manifest, i.config, ...i.layers])]);
  const name = `${reg.host}/team/multi`;
  await engine.images.addFromContent({ digest: index.index.digest as Digest }, { tags: [`${name}:v1`] });
  const messages: JSONMessage[] = [];

  const [result] = await pushImage(engine, `${name}:v1`, { onMessage: (m) => messages.push(m) });

  assert.equal(result!.digest, index.index.digest);
  const served = await registryManifest(reg.url, 'team/multi', 'v1');
  assert.ok(served.raw.equals(index.index.bytes));
  for (const child of index.images) {
    assert.ok((await registryManifest(reg.url, 'team/multi', child.manifest.digest)).raw.equals(child.manifest.bytes));
    for (const b of [child.config, ...child.layers]) await registryBlob(reg.url, 'team/multi', b.digest);
  }
  assert.equal(statusesById(messages).size, 2, 'a row per layer of every child');

  // The same index loaded from an OCI layout keeps only this platform: the platform manifest is pushed.
  const partial = await tempEngine(t);
  await loadOci(t, partial, [{ tag: `${reg.host}/team/single:v1`, image: index }]);
  const [single] = await pushImage(partial, `${reg.host}/team/single:v1`);
  const record = partial.images.resolve(`${reg.host}/team/single:v1`).image;
  assert.notEqual(record.target.digest, record.manifest.digest);
  assert.equal(single!.digest, record.manifest.digest);
  assert.equal((await registryManifest(reg.url, 'team/single', 'v1')).digest, record.manifest.digest);
});

test('more layers than maxConcurrentUploads: the rest are "Waiting" first; uploads run in parallel up to the limit', async (t) => {
  const engine = await tempEngine(t, { maxConcurrentUploads: 2 });
  const proxy = await countingProxy(t, reg.host, { holdUploadsMs: 100 });
  const image = await buildImage({ layers: 5, fileSize: 100 });
  await loadOci(t, engine, [{ tag: `${proxy.host}/team/waiting:v1`, image }]);
  const messages: JSONMessage[] = [];
  await pushImage(engine, `${proxy.host}/team/waiting:v1`, { onMessage: (m) => messages.push(m) });
  const ids = image.layers.map((l) => shortHex(l.diffId)).reverse();
  const byId = statusesById(messages);
  for (const id of ids.slice(0, 2)) assert.deepEqual(byId.get(id), ['Preparing', 'Pushing', 'Pushed']);
  for (const id of ids.slice(2)) assert.deepEqual(byId.get(id), ['Preparing', 'Waiting', 'Pushing', 'Pushed']);
  assert.deepEqual(
    messages.slice(1, 9).map((m) => `${m.status} ${m.id}`),
    [...ids.map((id) => `Preparing ${id}`), ...ids.slice(2).map((id) => `Waiting ${id}`)],
  );
  const layerPut = (l: { method: string; path: string }) => l.method === 'PUT' && image.layers.some((x) => l.path.includes(`digest=${encodeURIComponent(x.digest)}`) || l.path.includes(`digest=${x.digest}`));
  assert.equal(proxy.log.filter(layerPut).length, 5);
  assert.equal(maxInFlight(proxy.log, layerPut), 2, 'two layer uploads at a time, never more');
});

test('chunked push (chunkSize) sends PATCH chunks to our registry and the blobs come out whole', async (t) => {
  const engine = await tempEngine(t);
  const proxy = await countingProxy(t, reg.host);
  const image = await buildImage({ layerSizes: [300_000] });
  await loadOci(t, engine, [{ tag: `${proxy.host}/team/chunked:v1`, image }]);
  await pushImage(engine, `${proxy.host}/team/chunked:v1`, { chunkSize: 64 * 1024 });
  const patches = proxy.log.filter((l) => l.method === 'PATCH');
  assert.equal(patches.length, Math.ceil(image.layers[0]!.size / (64 * 1024)), JSON.stringify(proxy.log));
  assert.equal(patches.reduce((n, p) => n + p.bytes, 0), image.layers[0]!.size);
  await registryBlob(reg.url, 'team/chunked', image.layers[0]!.digest);
  assert.equal((await registryManifest(reg.url, 'team/chunked', 'v1')).digest, image.manifest.digest);
});

test('an aborted push stops its uploads, puts no manifest and records nothing', async (t) => {
  const engine = await tempEngine(t);
  const image = await buildImage({ layerSizes: [8_000_000, 8_000_000] });
  const name = `${reg.host}/team/aborted`;
  await loadOci(t, engine, [{ tag: `${name}:v1`, image }]);
  const controller = new AbortController();
  const messages: JSONMessage[] = [];
  const started = Date.now();
  await assert.rejects(
    pushImage(engine, `${name}:v1`, {
      signal: controller.signal,
      onMessage: (m) => {
        messages.push(m);
        if (m.status === 'Pushing') controller.abort();
      },
    }),
    (err) => (err as Error).name === 'AbortError',
  );
  assert.ok(Date.now() - started < 10_000);
  assert.equal(messages.filter((m) => m.status === 'Pushed').length, 0);
  assert.equal((await fetch(`${reg.url}/v2/team/aborted/manifests/v1`, { method: 'HEAD' })).status, 404);
  assert.deepEqual(engine.images.resolve(`${name}:v1`).image.repoDigests, []);
  await assert.rejects(pushImage(engine, `${name}:v1`, { signal: AbortSignal.abort() }), (err) => (err as Error).name === 'AbortError');
});

test('basic auth: credentials in options push; without them a clear refusal and no manifest', async (t) => {
  const dir = await tempDir(t, 'tsd-push-basic-');
  const htpasswd = join(dir, 'htpasswd');
  const pw = password('alice');
  await writeHtpasswd(htpasswd, { alice: pw }, 5);
  const secured = await startRegistry(t, { config: { auth: { htpasswd: { realm: 'tsd', path: htpasswd } } } });
  const engine = await tempEngine(t);
  const image = await buildImage({ layers: 1 });
  const name = `${secured.host}/team/basic`;
  await loadOci(t, engine, [{ tag: `${name}:v1`, image }]);

  await assert.rejects(pushImage(engine, `${name}:v1`), (err) => {
    assert.ok(isTsdError(err, 'UNAUTHORIZED'), String(err));
    assert.equal(err.message, 'unauthorized: authentication required');
    return true;
  });
  await assert.rejects(pushImage(engine, `${name}:v1`, { credentials: { username: 'alice', password: 'wrong' } }), /^TsdError: unauthorized: /);
  const [result] = await pushImage(engine, `${name}:v1`, { credentials: { username: 'alice', password: pw } });
  assert.equal(result!.digest, image.manifest.digest);
  assert.equal((await registryManifest(secured.url, 'team/basic', 'v1', basic('alice', pw))).digest, image.manifest.digest);
});

test('token auth: a user with push rights pushes; anonymous and users without push are denied as docker says', async (t) => {
  const dir = await tempDir(t, 'tsd-push-token-');
  const htpasswd = join(dir, 'htpasswd');
  const users = { alice: password('alice'), bob: password('bob') };
  await writeHtpasswd(htpasswd, users, 5);
  const port = await freePort();
  const secured = await startRegistry(t, { port, config: { auth: tokenAuthConfig(`http://127.0.0.1:${port}/token`, htpasswd) } });
  const engine = await tempEngine(t);
  const image = await buildImage({ layers: 1 });
  const name = `${secured.host}/team/token`;
  await loadOci(t, engine, [{ tag: `${name}:v1`, image }]);

  for (const credentials of [undefined, { username: 'bob', password: users.bob }]) {
    await assert.rejects(pushImage(engine, `${name}:v1`, credentials ? { credentials } : {}), (err) => {
      assert.ok(isTsdError(err, 'DENIED'), String(err));
      assert.equal(err.message, 'denied: requested access to the resource is denied');
      return true;
    });
  }
  await assert.rejects(pushImage(engine, `${name}:v1`, { credentials: { username: 'alice', password: 'wrong' } }), (err) => isTsdError(err, 'UNAUTHORIZED'));
  assert.equal((await fetch(`${secured.url}/v2/team/token/manifests/v1`, { method: 'HEAD' })).status, 401, 'still protected');
  const [result] = await pushImage(engine, `${name}:v1`, { credentials: { username: 'alice', password: users.alice } });
  assert.equal(result!.digest, image.manifest.digest);
});
