// Concurrency: simultaneous pushes of the same blob, of different manifests to the same tag, and
// racing chunks on one upload session.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { assertError, Failures, manifestFrom, MediaTypes, OciClient, randomBlob, requireLocation, sha256, sharedHooks, show, uniqueName } from '../helpers/oci-client.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';

describe('concurrency', () => {
  const { hooks, cleanup } = sharedHooks();
  let reg: RunningRegistry;
  let c: OciClient;
  let c2: OciClient;
  before(async () => {
    reg = await startRegistry(hooks);
    c = new OciClient(reg.url);
    c2 = new OciClient(reg.url);
  });
  after(cleanup);

  async function verifyBlob(name: string, digest: string, size: number): Promise<void> {
    const r = await c.getBlob(name, digest);
    assert.equal(r.status, 200, show(r));
    assert.equal(r.body.length, size);
    assert.equal(sha256(r.body), digest);
  }

  test('two clients pushing the same blob at once both get 201 (monolithic POST+PUT)', async () => {
    for (let round = 0; round < 5; round++) {
      const name = uniqueName('same');
      const blob = randomBlob(2 * 1024 * 1024);
      const [a, b] = await Promise.all([c.pushBlobPostPut(name, blob), c2.pushBlobPostPut(name, blob)]);
      assert.equal(a.status, 201, show(a));
      assert.equal(b.status, 201, show(b));
      await verifyBlob(name, blob.digest, blob.size);
    }
  });

  test('two clients pushing the same blob at once both get 201 (POST ?digest= monolithic)', async () => {
    const name = uniqueName('same');
    const blob = randomBlob(1024 * 1024);
    const [a, b] = await Promise.all([c.pushBlobMonolithic(name, blob), c2.pushBlobMonolithic(name, blob)]);
    assert.equal(a.status, 201, show(a));
    assert.equal(b.status, 201, show(b));
    await verifyBlob(name, blob.digest, blob.size);
  });

  test('two clients pushing the same blob chunked, interleaved, both get 201', async () => {
    const name = uniqueName('same');
    const blob = randomBlob(3 * 1024 * 1024 + 17);
    const [a, b] = await Promise.all([c.pushBlobChunked(name, blob, 512 * 1024), c2.pushBlobChunked(name, blob, 700 * 1024)]);
    assert.equal(a.status, 201, show(a));
    assert.equal(b.status, 201, show(b));
    await verifyBlob(name, blob.digest, blob.size);
  });

  test('the same blob pushed to two repositories at once is readable in both', async () => {
    const x = uniqueName('x');
    const y = uniqueName('y');
    const blob = randomBlob(1024 * 1024);
    const [a, b] = await Promise.all([c.pushBlobPostPut(x, blob), c2.pushBlobPostPut(y, blob)]);
    assert.equal(a.status, 201, show(a));
    assert.equal(b.status, 201, show(b));
    await verifyBlob(x, blob.digest, blob.size);
    await verifyBlob(y, blob.digest, blob.size);
  });

  test('eight clients pushing the same blob at once all get 201', async () => {
    const name = uniqueName('eight');
    const blob = randomBlob(512 * 1024);
    const clients = Array.from({ length: 8 }, () => new OciClient(reg.url));
    const rs = await Promise.all(clients.map((cl, i) => (i % 2 ? cl.pushBlobPostPut(name, blob) : cl.pushBlobChunked(name, blob, 128 * 1024))));
    rs.forEach((r) => assert.equal(r.status, 201, show(r)));
    await verifyBlob(name, blob.digest, blob.size);
  });

  test('two clients pushing different manifests to the same tag at once: both 201, the tag resolves to one, consistently', async () => {
    for (let round = 0; round < 8; round++) {
      const name = uniqueName('tagrace');
      const m1 = await c.makeImage(name, { layers: 1 });
      const m2 = await c.makeImage(name, { layers: 1, format: round % 2 ? 'docker' : 'oci' });
      const [a, b] = await Promise.all([c.putManifest(name, 'latest', m1), c2.putManifest(name, 'latest', m2)]);
      assert.equal(a.status, 201, show(a));
      assert.equal(b.status, 201, show(b));
      const g = await c.getManifest(name, 'latest');
      assert.equal(g.status, 200, show(g));
      const digest = g.headers.get('docker-content-digest');
      assert.ok(digest === m1.digest || digest === m2.digest, `tag resolves to neither manifest: ${show(g)}`);
      const winner = digest === m1.digest ? m1 : m2;
      assert.ok(g.body.equals(winner.bytes), 'GET by tag returned bytes not matching its digest');
      assert.equal(g.headers.get('content-type'), winner.mediaType);
      for (let k = 0; k < 3; k++) {
        const again = await c2.getManifest(name, 'latest');
        assert.equal(again.headers.get('docker-content-digest'), digest, 'tag flapped');
        const h = await c.headManifest(name, 'latest');
        assert.equal(h.headers.get('docker-content-digest'), digest, 'HEAD disagrees with GET');
      }
      const tags = await c.listTags(name);
      assert.deepEqual(tags.json(), { name, tags: ['latest'] });
      // both manifests exist by digest
      for (const m of [m1, m2]) assert.equal((await c.headManifest(name, m.digest)).status, 200);
    }
  });

  test('many tags pushed at once for one manifest are all listed', async () => {
    const name = uniqueName('manytags');
    const m = await c.makeImage(name, { layers: 1 });
    const tags = Array.from({ length: 24 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    const rs = await Promise.all(tags.map((t, i) => (i % 2 ? c : c2).putManifest(name, t, m)));
    rs.forEach((r) => assert.equal(r.status, 201, show(r)));
    assert.deepEqual((await c.listTags(name)).json().tags, tags);
  });

  test('two identical chunks racing on one session: exactly one is accepted, the blob verifies', async () => {
    for (let round = 0; round < 3; round++) {
      const name = uniqueName('chunkrace');
      const blob = randomBlob(1024 * 1024);
      const s = await c.startUpload(name);
      const loc = requireLocation(s);
      const half = 512 * 1024;
      const [a, b] = await Promise.all([c.patchChunk(loc, blob.data.subarray(0, half), 0), c2.patchChunk(loc, blob.data.subarray(0, half), 0)]);
      const statuses = [a.status, b.status].sort();
      assert.deepEqual(statuses, [202, 416], `racing chunks: ${show(a)}\n${show(b)}`);
      const st = await c.uploadStatus(requireLocation(a.status === 202 ? a : b));
      assert.equal(st.status, 204, show(st));
      assert.equal(st.headers.get('range'), `0-${half - 1}`, show(st));
      const p = await c.patchChunk(requireLocation(st), blob.data.subarray(half), half);
      assert.equal(p.status, 202, show(p));
      const f = await c.finishUpload(requireLocation(p), blob.digest);
      assert.equal(f.status, 201, show(f));
      await verifyBlob(name, blob.digest, blob.size);
    }
  });

  test('finishing one session twice at once: one 201, the other 201 or 404, the blob verifies', async () => {
    for (let round = 0; round < 3; round++) {
      const name = uniqueName('doubleput');
      const blob = randomBlob(1024 * 1024);
      const s = await c.startUpload(name);
      const p = await c.patchChunk(requireLocation(s), blob.data, 0);
      assert.equal(p.status, 202, show(p));
      const loc = requireLocation(p);
      const [a, b] = await Promise.all([c.finishUpload(loc, blob.digest), c2.finishUpload(loc, blob.digest)]);
      const sorted = [a, b].sort((x, y) => x.status - y.status);
      assert.equal(sorted[0]!.status, 201, show(sorted[0]!));
      assert.ok([201, 404].includes(sorted[1]!.status), show(sorted[1]!));
      await verifyBlob(name, blob.digest, blob.size);
      assert.equal((await c.uploadStatus(loc)).status, 404);
    }
  });

  test('cancel racing the final PUT: whatever wins, the store stays consistent', async () => {
    for (let round = 0; round < 3; round++) {
      const name = uniqueName('cancelrace');
      const blob = randomBlob(1024 * 1024);
      const s = await c.startUpload(name);
      const p = await c.patchChunk(requireLocation(s), blob.data, 0);
      const loc = requireLocation(p);
      const [put, del] = await Promise.all([c.finishUpload(loc, blob.digest), c2.cancelUpload(loc)]);
      assert.ok([201, 404].includes(put.status), show(put));
      assert.ok([204, 404].includes(del.status), show(del));
      if (put.status === 201) await verifyBlob(name, blob.digest, blob.size);
      else assert.equal((await c.headBlob(name, blob.digest)).status, 404);
      assert.equal((await c.uploadStatus(loc)).status, 404);
    }
  });

  test('concurrent pushes to many repositories all land in the catalog', async () => {
    const prefix = uniqueName('cat');
    const names = Array.from({ length: 12 }, (_, i) => `${prefix}/r${String(i).padStart(2, '0')}`);
    await Promise.all(names.map(async (n, i) => (i % 2 ? c : c2).pushManifest(n, 'x', await (i % 2 ? c : c2).makeImage(n, { layers: 1 }))));
    const r = await c.catalog({ n: '1000' });
    const listed = r.json<{ repositories: string[] }>().repositories.filter((n) => n.startsWith(`${prefix}/`));
    assert.deepEqual(listed, names);
  });

  test('two registry processes over one rootDirectory see each other\'s writes at once', async () => {
    const other = await startRegistry(hooks, { rootDirectory: reg.rootDirectory });
    const b = new OciClient(other.url);
    const name = uniqueName('shared');
    const m1 = await c.pushManifest(name, 'latest', await c.makeImage(name, { layers: 1 }));
    // B reads (and may cache) what A wrote
    const g1 = await b.getManifest(name, 'latest');
    assert.equal(g1.status, 200, show(g1));
    assert.equal(g1.headers.get('docker-content-digest'), m1.digest);
    assert.deepEqual((await b.listTags(name)).json().tags, ['latest']);
    // A moves the tag and adds one
    const m2 = await c.pushManifest(name, 'latest', await c.makeImage(name, { layers: 1 }));
    await c.pushManifest(name, 'extra', m2);
    const g2 = await b.getManifest(name, 'latest');
    assert.equal(g2.headers.get('docker-content-digest'), m2.digest, `B serves a stale tag: ${show(g2)}`);
    assert.deepEqual((await b.listTags(name)).json().tags, ['extra', 'latest']);
    // an upload started on A finishes on B
    const blob = randomBlob(100_000);
    const s = await c.startUpload(name);
    const p = await c.patchChunk(requireLocation(s), blob.data.subarray(0, 50_000), 0);
    const loc = new URL(requireLocation(p), c.base + '/');
    const p2 = await b.patchChunk(`${loc.pathname}${loc.search}`, blob.data.subarray(50_000), 50_000);
    assert.equal(p2.status, 202, show(p2));
    const f = await b.finishUpload(requireLocation(p2), blob.digest);
    assert.equal(f.status, 201, show(f));
    await verifyBlob(name, blob.digest, blob.size);
    await other.stop();
  });

  // Beyond the brief: DESIGN.md says correctness never depends on caches. A deletion made through
  // one process must not be served (or relied on) by another process over the same storage.
  test('two registry processes over one rootDirectory: a delete through one is seen at once by the other', async () => {
    const other = await startRegistry(hooks, { rootDirectory: reg.rootDirectory });
    const b = new OciClient(other.url);
    const name = uniqueName('shareddel');
    const m1 = await c.pushManifest(name, 'v1', await c.makeImage(name, { layers: 1 }));
    const layer = m1.blobs[1]!;
    // B warms whatever it caches
    assert.equal((await b.getManifest(name, m1.digest)).status, 200);
    assert.equal((await b.headBlob(name, layer.digest)).status, 200);
    assert.equal((await b.getBlob(name, layer.digest)).status, 200);
    // A deletes the blob link and the manifest
    assert.equal((await c.deleteBlob(name, layer.digest)).status, 202);
    assert.equal((await c.deleteManifest(name, m1.digest)).status, 202);
    const f = new Failures();
    await f.check('HEAD of the deleted blob through B', async () => {
      const h = await b.headBlob(name, layer.digest);
      assert.equal(h.status, 404, `B serves a blob link deleted through A: ${show(h)}`);
    });
    await f.check('GET of the deleted manifest through B', async () => {
      const g = await b.getManifest(name, m1.digest);
      assert.equal(g.status, 404, `B serves a manifest deleted through A: ${show(g)}`);
    });
    await f.check('a manifest PUT through B that needs the deleted blob', async () => {
      const again = await c.makeImage(name, { layers: 1, skipPush: true });
      await c.pushBlob(name, again.blobs[0]!); // config only; the layer below is the deleted one
      const o = { ...again.object, layers: [{ mediaType: MediaTypes.ociLayer, digest: layer.digest, size: layer.size }] };
      assertError(await b.putManifest(name, 'v2', manifestFrom(o, MediaTypes.ociManifest)), 400, 'MANIFEST_BLOB_UNKNOWN');
    });
    await f.check('a mount through B from the repository that lost the blob', async () => {
      const r = await b.startUpload(uniqueName('mnt'), { mount: layer.digest, from: name });
      assert.equal(r.status, 202, `B mounted a blob deleted through A: ${show(r)}`);
    });
    f.done();
    await other.stop();
  });
});
