// Conformance: manifest PUT/GET/HEAD/DELETE for every manifest type, validation, exact bytes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { assertApiVersion, assertError, emptyJsonDigest, Failures, makeIndex, manifestFrom, MediaTypes, OciClient, randomBlob, rawAsResp, rawRequest, requireLocation, sha256, show, uniqueName, type Manifest, type Resp } from '../helpers/oci-client.js';
import { useSharedRegistry, type RunningRegistry } from '../helpers/registry.js';

/** GET and HEAD by tag and by digest return exactly the pushed bytes and the right headers. */
async function assertManifestServed(c: OciClient, name: string, refs: string[], m: Manifest): Promise<void> {
  for (const ref of [...refs, m.digest]) {
    const g = await c.getManifest(name, ref);
    assert.equal(g.status, 200, show(g));
    assertApiVersion(g);
    assert.ok(g.body.equals(m.bytes), `GET ${ref}: bytes differ from those pushed: ${show(g)}`);
    assert.equal(g.headers.get('content-type'), m.mediaType, show(g));
    assert.equal(g.headers.get('docker-content-digest'), m.digest, show(g));
    assert.equal(g.headers.get('content-length'), String(m.size), show(g));
    const h = await c.headManifest(name, ref);
    assert.equal(h.status, 200, show(h));
    assert.equal(h.body.length, 0);
    assert.equal(h.headers.get('content-type'), m.mediaType, show(h));
    assert.equal(h.headers.get('docker-content-digest'), m.digest, show(h));
    assert.equal(h.headers.get('content-length'), String(m.size), show(h));
  }
}

async function assertPutCreated(c: OciClient, name: string, ref: string, m: Manifest): Promise<void> {
  const r = await c.putManifest(name, ref, m);
  assert.equal(r.status, 201, show(r));
  assertApiVersion(r);
  assert.equal(r.headers.get('docker-content-digest'), m.digest, show(r));
  const loc = requireLocation(r);
  const g = await c.get(loc, { headers: { accept: m.mediaType } });
  assert.equal(g.status, 200, `GET Location ${loc}: ${show(g)}`);
  assert.ok(g.body.equals(m.bytes), 'Location does not serve the manifest');
}

describe('manifests', () => {
  let reg: RunningRegistry;
  let c: OciClient;
  useSharedRegistry((r, client) => {
    reg = r;
    c = client;
  });

  test('OCI image manifest: PUT by tag 201; GET/HEAD by tag and digest', async () => {
    const name = uniqueName('oci');
    const m = await c.makeImage(name, { format: 'oci' });
    await assertPutCreated(c, name, 'v1', m);
    await assertManifestServed(c, name, ['v1'], m);
  });

  test('Docker schema 2 manifest: PUT by tag 201; GET/HEAD by tag and digest', async () => {
    const name = uniqueName('docker');
    const m = await c.makeImage(name, { format: 'docker' });
    await assertPutCreated(c, name, 'latest', m);
    await assertManifestServed(c, name, ['latest'], m);
  });

  test('OCI index over pushed manifests', async () => {
    const name = uniqueName('index');
    const a = await c.pushManifest(name, 'amd64', await c.makeImage(name));
    const b = await c.pushManifest(name, 'arm64', await c.makeImage(name));
    const idx = makeIndex([a, b], 'oci');
    await assertPutCreated(c, name, 'multi', idx);
    await assertManifestServed(c, name, ['multi'], idx);
  });

  test('an index of indexes, and an index mixing Docker and OCI manifests', async () => {
    const name = uniqueName('nested');
    const a = await c.pushManifest(name, 'a', await c.makeImage(name));
    const d = await c.pushManifest(name, 'd', await c.makeImage(name, { format: 'docker' }));
    const inner = await c.pushManifest(name, 'inner', makeIndex([a, d], 'oci'));
    const outer = makeIndex([inner, a], 'oci');
    await assertPutCreated(c, name, 'outer', outer);
    await assertManifestServed(c, name, ['outer'], outer);
  });

  test('artifact-style manifests with custom config types and many layers', async () => {
    const name = uniqueName('helm');
    const config = randomBlob(300);
    const layers = Array.from({ length: 60 }, () => randomBlob(100));
    for (const b of [config, ...layers]) await c.pushBlob(name, b);
    const m = manifestFrom(
      {
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: { mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: config.digest, size: config.size },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip', digest: l.digest, size: l.size })),
        annotations: { 'org.opencontainers.image.title': 'chart' },
      },
      MediaTypes.ociManifest,
    );
    await assertPutCreated(c, name, '1.0.0', m);
    await assertManifestServed(c, name, ['1.0.0'], m);
  });

  test('Docker manifest list over pushed manifests', async () => {
    const name = uniqueName('list');
    const a = await c.pushManifest(name, a1(), await c.makeImage(name, { format: 'docker' }));
    const b = await c.pushManifest(name, a1(), await c.makeImage(name, { format: 'docker' }));
    const list = makeIndex([a, b], 'docker');
    await assertPutCreated(c, name, 'multi', list);
    await assertManifestServed(c, name, ['multi'], list);
  });

  test('OCI artifact manifest (artifactType and the empty config)', async () => {
    const name = uniqueName('artifact');
    const m = await c.makeArtifact(name, { artifactType: 'application/vnd.example.sbom.v1+json', annotations: { 'org.example.kind': 'sbom' } });
    assert.equal((m.object.config as { digest: string }).digest, emptyJsonDigest);
    await assertPutCreated(c, name, 'sbom', m);
    await assertManifestServed(c, name, ['sbom'], m);
  });

  test('a manifest can be pushed by digest', async () => {
    const name = uniqueName('bydigest');
    const m = await c.makeImage(name);
    await assertPutCreated(c, name, m.digest, m);
    await assertManifestServed(c, name, [], m);
  });

  test('a manifest pushed by a sha512 digest is either refused with DIGEST_INVALID or served by it', async () => {
    const name = uniqueName('sha512');
    const m = await c.makeImage(name);
    const d512 = `sha512:${createHash('sha512').update(m.bytes).digest('hex')}`;
    const r = await c.putManifest(name, d512, m);
    if (r.status !== 201) {
      assertError(r, 400, ['DIGEST_INVALID', 'UNSUPPORTED']);
      return;
    }
    assert.equal(r.headers.get('docker-content-digest'), d512, show(r));
    const g = await c.getManifest(name, d512);
    assert.equal(g.status, 200, show(g));
    assert.ok(g.body.equals(m.bytes));
    assert.equal(g.headers.get('docker-content-digest'), d512, show(g));
  });

  test('PUT by a digest that does not match the body is 400 DIGEST_INVALID', async () => {
    const name = uniqueName('bydigest');
    const m = await c.makeImage(name);
    const wrong = sha256('other bytes');
    assertError(await c.putManifest(name, wrong, m), 400, 'DIGEST_INVALID');
    assertError(await c.getManifest(name, wrong), 404, 'MANIFEST_UNKNOWN');
    assertError(await c.getManifest(name, m.digest), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
  });

  test('the exact bytes are kept: unusual whitespace, key order and escapes', async () => {
    const name = uniqueName('bytes');
    const m = await c.makeImage(name, { layers: 1 });
    const o = m.object as { config: { digest: string; size: number; mediaType: string }; layers: Array<{ digest: string; size: number; mediaType: string }> };
    const text =
      `\n  {  "layers" :[ {"size":${o.layers[0]!.size},  "digest": "${o.layers[0]!.digest}","mediaType":"${o.layers[0]!.mediaType}"}],\r\n` +
      `\t"config": {"mediaType":"${o.config.mediaType}","size":${o.config.size},"digest":"${o.config.digest}"},` +
      `"annotations":{"k":"caf\\u00e9 \u00e9\\n"},  "schemaVersion" : 2,"mediaType":"${MediaTypes.ociManifest}"   }\n\n`;
    const weird = manifestFrom(JSON.parse(text), MediaTypes.ociManifest, Buffer.from(text));
    assert.notEqual(weird.digest, sha256(JSON.stringify(JSON.parse(text))));
    await assertPutCreated(c, name, 'weird', weird);
    await assertManifestServed(c, name, ['weird'], weird);
  });

  test('a manifest with a subject answers OCI-Subject; the subject need not exist', async () => {
    const name = uniqueName('subject');
    const missingSubject = { mediaType: MediaTypes.ociManifest, digest: sha256('no such manifest ' + name), size: 1234 };
    const m = await c.makeArtifact(name, { artifactType: 'application/vnd.example.sig', subject: missingSubject });
    const r = await c.putManifest(name, m.digest, m);
    assert.equal(r.status, 201, show(r));
    assert.equal(r.headers.get('oci-subject'), missingSubject.digest, show(r));
    await assertManifestServed(c, name, [], m);
    // and with an existing subject
    const img = await c.pushManifest(name, 'img', await c.makeImage(name));
    const sig = await c.makeImage(name, { subject: { mediaType: img.mediaType, digest: img.digest, size: img.size } });
    const r2 = await c.putManifest(name, sig.digest, sig);
    assert.equal(r2.status, 201, show(r2));
    assert.equal(r2.headers.get('oci-subject'), img.digest, show(r2));
  });

  test('a manifest without a subject has no OCI-Subject header', async () => {
    const name = uniqueName('nosubject');
    const r = await c.putManifest(name, 'x', await c.makeImage(name));
    assert.equal(r.status, 201, show(r));
    assert.equal(r.headers.get('oci-subject'), null, show(r));
  });

  test('missing config or layer blobs are 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const name = uniqueName('missing');
    const noConfig = await c.makeImage(name, { skipPush: true });
    for (const b of noConfig.blobs.slice(1)) await c.pushBlob(name, b); // layers only
    assertError(await c.putManifest(name, 'a', noConfig), 400, 'MANIFEST_BLOB_UNKNOWN');
    const noLayer = await c.makeImage(name, { skipPush: true, layers: 2 });
    for (const b of noLayer.blobs.slice(0, 2)) await c.pushBlob(name, b); // config + first layer
    assertError(await c.putManifest(name, 'b', noLayer), 400, 'MANIFEST_BLOB_UNKNOWN');
    const dockerNoLayer = await c.makeImage(name, { skipPush: true, format: 'docker', layers: 1 });
    await c.pushBlob(name, dockerNoLayer.blobs[0]!);
    assertError(await c.putManifest(name, 'c', dockerNoLayer), 400, 'MANIFEST_BLOB_UNKNOWN');
    for (const tag of ['a', 'b', 'c']) assertError(await c.getManifest(name, tag), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
  });

  test('blobs that exist only in another repository are MANIFEST_BLOB_UNKNOWN here', async () => {
    const a = uniqueName('has');
    const b = uniqueName('lacks');
    const m = await c.makeImage(a); // blobs pushed to a
    await c.pushBlob(b, randomBlob(10));
    assertError(await c.putManifest(b, 'x', m), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('an index referencing missing manifests is 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const name = uniqueName('idxmissing');
    const present = await c.pushManifest(name, 'p', await c.makeImage(name));
    const absent = await c.makeImage(name); // blobs pushed, manifest not
    assertError(await c.putManifest(name, 'oci', makeIndex([present, absent], 'oci')), 400, 'MANIFEST_BLOB_UNKNOWN');
    const dp = await c.pushManifest(name, 'dp', await c.makeImage(name, { format: 'docker' }));
    const da = await c.makeImage(name, { format: 'docker' });
    assertError(await c.putManifest(name, 'docker', makeIndex([dp, da], 'docker')), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('an index whose entries are blobs, not manifests, is 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const name = uniqueName('idxblob');
    const img = await c.pushManifest(name, 'img', await c.makeImage(name));
    const layer = img.blobs[1]!;
    const idx = makeIndex([img], 'oci');
    (idx.object.manifests as Array<Record<string, unknown>>).push({ mediaType: MediaTypes.ociManifest, digest: layer.digest, size: layer.size });
    const m = manifestFrom(idx.object, MediaTypes.ociIndex);
    assertError(await c.putManifest(name, 'idx', m), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('an index referencing manifests of another repository is 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const a = uniqueName('idxa');
    const b = uniqueName('idxb');
    const inA = await c.pushManifest(a, 'x', await c.makeImage(a));
    await c.pushManifest(b, 'y', await c.makeImage(b));
    assertError(await c.putManifest(b, 'idx', makeIndex([inA], 'oci')), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('a manifest referencing a deleted blob is 400 MANIFEST_BLOB_UNKNOWN', async () => {
    const name = uniqueName('delblob');
    const img = await c.makeImage(name);
    assert.equal((await c.deleteBlob(name, img.blobs[1]!.digest)).status, 202);
    assertError(await c.putManifest(name, 'x', img), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('an OCI manifest without a mediaType field is accepted as its Content-Type', async () => {
    const name = uniqueName('nomt');
    const img = await c.makeImage(name);
    const o = { ...img.object };
    delete o.mediaType;
    const m = manifestFrom(o, MediaTypes.ociManifest);
    await assertPutCreated(c, name, 'x', m);
    await assertManifestServed(c, name, ['x'], m);
  });

  test('invalid digest references are 400 DIGEST_INVALID', async () => {
    const name = uniqueName('badref');
    const img = await c.pushManifest(name, 'x', await c.makeImage(name));
    for (const ref of ['sha256:abc', `sha256:${'G'.repeat(64)}`, 'sha256:', `md5:${'0'.repeat(32)}`]) {
      assertError(await c.getManifest(name, ref), 400, 'DIGEST_INVALID', `GET ${ref}`);
      assertError(await c.putManifest(name, ref, img), 400, 'DIGEST_INVALID', `PUT ${ref}`);
      assertError(await c.deleteManifest(name, ref), 400, 'DIGEST_INVALID', `DELETE ${ref}`);
    }
  });

  test('invalid manifests are 400 MANIFEST_INVALID', async () => {
    const name = uniqueName('invalid');
    const good = await c.makeImage(name);
    const o = good.object;
    const cases: Array<[string, string, string]> = [
      ['malformed JSON', MediaTypes.ociManifest, '{"schemaVersion": 2, '],
      ['not an object', MediaTypes.ociManifest, '[1,2,3]'],
      ['empty body', MediaTypes.ociManifest, ''],
      ['schemaVersion 1', MediaTypes.ociManifest, JSON.stringify({ ...o, schemaVersion: 1 })],
      ['schemaVersion 3', MediaTypes.ociManifest, JSON.stringify({ ...o, schemaVersion: 3 })],
      ['schemaVersion missing', MediaTypes.ociManifest, JSON.stringify({ ...o, schemaVersion: undefined })],
      ['schemaVersion "2"', MediaTypes.ociManifest, JSON.stringify({ ...o, schemaVersion: '2' })],
      ['body mediaType differs from Content-Type', MediaTypes.ociManifest, JSON.stringify({ ...o, mediaType: MediaTypes.ociIndex })],
      ['body is an index sent as a manifest', MediaTypes.ociManifest, JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] })],
      ['docker body sent as OCI', MediaTypes.ociManifest, JSON.stringify({ ...o, mediaType: MediaTypes.dockerManifest })],
      ['unknown manifest media type', 'application/vnd.example.unknown+json', JSON.stringify({ ...o, mediaType: undefined })],
      ['unknown media type in body and header', 'application/x-foo', JSON.stringify({ ...o, mediaType: 'application/x-foo' })],
      ['config missing', MediaTypes.ociManifest, JSON.stringify({ ...o, config: undefined })],
      ['layers not an array', MediaTypes.ociManifest, JSON.stringify({ ...o, layers: 'nope' })],
      ['descriptor with a bad digest', MediaTypes.ociManifest, JSON.stringify({ ...o, config: { ...(o.config as object), digest: 'sha256:zz' } })],
      ['descriptor with a negative size', MediaTypes.ociManifest, JSON.stringify({ ...o, config: { ...(o.config as object), size: -1 } })],
      [
        'Docker schema 1',
        MediaTypes.dockerSchema1Signed,
        JSON.stringify({ schemaVersion: 1, name, tag: 'x', architecture: 'amd64', fsLayers: [{ blobSum: good.blobs[1]!.digest }], history: [{ v1Compatibility: '{}' }] }),
      ],
      [
        'Docker schema 1 unsigned',
        MediaTypes.dockerSchema1,
        JSON.stringify({ schemaVersion: 1, name, tag: 'x', architecture: 'amd64', fsLayers: [{ blobSum: good.blobs[1]!.digest }], history: [{ v1Compatibility: '{}' }] }),
      ],
    ];
    const failures = new Failures();
    for (const [why, contentType, body] of cases) {
      await failures.check(why, async () => assertError(await c.putManifest(name, 'bad', { bytes: body, mediaType: contentType }), 400, 'MANIFEST_INVALID'));
    }
    failures.done();
    assertError(await c.getManifest(name, 'bad'), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
  });

  test('a manifest over 4 MiB is 413; exactly 4 MiB is accepted', async () => {
    const name = uniqueName('big');
    const base = await c.makeImage(name, { layers: 1 });
    const limit = 4 * 1024 * 1024;
    const sized = (size: number): Manifest => {
      const o = { ...base.object, annotations: { pad: '' } };
      const overhead = Buffer.byteLength(JSON.stringify(o));
      o.annotations.pad = 'x'.repeat(size - overhead);
      const m = manifestFrom(o, MediaTypes.ociManifest);
      assert.equal(m.size, size);
      return m;
    };
    const over = sized(limit + 1);
    // Headers first: the Content-Length alone says it is too large, so the answer can come before the body.
    const r = rawAsResp(
      await rawRequest({ port: reg.port, method: 'PUT', target: `/v2/${name}/manifests/over`, headers: { 'content-type': over.mediaType }, body: over.bytes, headersFirstMs: 2000 }),
    );
    assert.equal(r.status, 413, show(r));
    assertApiVersion(r);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/, show(r));
    assert.ok(Array.isArray(r.json().errors), show(r));
    assertError(await c.getManifest(name, 'over'), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
    const exact = sized(limit);
    await assertPutCreated(c, name, 'exact', exact);
    await assertManifestServed(c, name, ['exact'], exact);
  });

  // RFC 9112 9.6: a server that answers before reading the whole request must not reset the
  // connection under the client (lingering close), or the client never sees the answer.
  test('a client that sends an oversized manifest in one go still reads the 413', async () => {
    const name = uniqueName('linger');
    const base = await c.makeImage(name, { layers: 1 });
    const o = { ...base.object, annotations: { pad: 'x'.repeat(4 * 1024 * 1024) } };
    const over = manifestFrom(o, MediaTypes.ociManifest);
    const failures = new Failures();
    for (let i = 0; i < 5; i++) {
      await failures.check(`attempt ${i + 1}`, async () => {
        let r: Resp;
        try {
          r = await c.putManifest(name, 'over', over);
        } catch (err) {
          const cause = (err as { cause?: { code?: string } }).cause;
          assert.fail(`the request failed instead of answering 413: ${(err as Error).message} ${cause?.code ?? ''}`);
        }
        assert.equal(r.status, 413, show(r));
      });
    }
    failures.done();
  });

  test('invalid tags are 400 TAG_INVALID; a 128-character tag is fine', async () => {
    const name = uniqueName('tags');
    const m = await c.makeImage(name);
    for (const tag of ['a'.repeat(129), '.hidden', '-dash', 'x'.repeat(200)]) {
      assertError(await c.putManifest(name, tag, m), 400, 'TAG_INVALID');
    }
    const long = 'T'.repeat(128);
    await assertPutCreated(c, name, long, m);
    for (const tag of ['_under', 'v1.2.3-rc.1_x', 'UPPER', '0']) await assertPutCreated(c, name, tag, m);
    await assertManifestServed(c, name, [long, '_under', 'UPPER'], m);
  });

  test('unknown manifests are 404 MANIFEST_UNKNOWN (GET and HEAD, tag and digest)', async () => {
    const name = uniqueName('unknown');
    await c.pushManifest(name, 'exists', await c.makeImage(name));
    assertError(await c.getManifest(name, 'nope'), 404, 'MANIFEST_UNKNOWN');
    assertError(await c.getManifest(name, sha256('nope')), 404, 'MANIFEST_UNKNOWN');
    assert.equal((await c.headManifest(name, 'nope')).status, 404);
    assert.equal((await c.headManifest(name, sha256('nope'))).status, 404);
    assertError(await c.getManifest(uniqueName('norepo'), 'latest'), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
  });

  test('a manifest pushed to one repository is unknown in another', async () => {
    const a = uniqueName('a');
    const b = uniqueName('b');
    const m = await c.pushManifest(a, 'x', await c.makeImage(a));
    await c.pushManifest(b, 'y', await c.makeImage(b));
    assertError(await c.getManifest(b, m.digest), 404, 'MANIFEST_UNKNOWN');
    assertError(await c.getManifest(b, 'x'), 404, 'MANIFEST_UNKNOWN');
  });

  test('manifests are served as stored even when the client accepts gzip', async () => {
    const name = uniqueName('gzip');
    const m = await c.pushManifest(name, 'x', await c.makeImage(name, { layers: 20 }));
    const r = await rawRequest({ port: reg.port, method: 'GET', target: `/v2/${name}/manifests/x`, headers: { accept: m.mediaType, 'accept-encoding': 'gzip, deflate, br' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-encoding'] ?? 'identity', 'identity', 'manifest was re-encoded');
    assert.ok(r.body.equals(m.bytes));
    assert.equal(r.headers['content-length'], String(m.size));
  });

  test('re-pushing a tag moves it; the old manifest stays by digest', async () => {
    const name = uniqueName('retag');
    const m1 = await c.pushManifest(name, 'latest', await c.makeImage(name));
    const m2 = await c.pushManifest(name, 'latest', await c.makeImage(name));
    await assertManifestServed(c, name, ['latest'], m2);
    await assertManifestServed(c, name, [], m1);
    // the same manifest twice is idempotent
    await assertPutCreated(c, name, 'latest', m2);
  });

  test('DELETE by digest: 202, then 404 by digest and by every tag that pointed at it', async () => {
    const name = uniqueName('delete');
    const m = await c.makeImage(name);
    await c.pushManifest(name, 't1', m);
    await c.pushManifest(name, 't2', m);
    const keep = await c.pushManifest(name, 'keep', await c.makeImage(name));
    // warm any cache first
    await assertManifestServed(c, name, ['t1', 't2'], m);
    assert.equal((await c.listTags(name)).status, 200);
    const d = await c.deleteManifest(name, m.digest);
    assert.equal(d.status, 202, show(d));
    assertApiVersion(d);
    assertError(await c.getManifest(name, m.digest), 404, 'MANIFEST_UNKNOWN');
    assert.equal((await c.headManifest(name, m.digest)).status, 404);
    for (const tag of ['t1', 't2']) {
      assertError(await c.getManifest(name, tag), 404, 'MANIFEST_UNKNOWN');
      assert.equal((await c.headManifest(name, tag)).status, 404);
    }
    const tags = await c.listTags(name);
    assert.equal(tags.status, 200, show(tags));
    assert.deepEqual(tags.json().tags, ['keep']);
    await assertManifestServed(c, name, ['keep'], keep);
    assertError(await c.deleteManifest(name, m.digest), 404, 'MANIFEST_UNKNOWN');
  });

  test('DELETE by digest of a manifest a tag used to point at leaves the moved tag alone', async () => {
    const name = uniqueName('moved');
    const m1 = await c.pushManifest(name, 'latest', await c.makeImage(name));
    const m2 = await c.pushManifest(name, 'latest', await c.makeImage(name));
    await c.pushManifest(name, 'old', m1);
    assert.equal((await c.deleteManifest(name, m1.digest)).status, 202);
    await assertManifestServed(c, name, ['latest'], m2);
    assertError(await c.getManifest(name, 'old'), 404, 'MANIFEST_UNKNOWN');
    assert.deepEqual((await c.listTags(name)).json().tags, ['latest']);
  });

  test('DELETE by tag: 202 removes only that tag', async () => {
    const name = uniqueName('deltag');
    const m = await c.makeImage(name);
    await c.pushManifest(name, 'a', m);
    await c.pushManifest(name, 'b', m);
    await assertManifestServed(c, name, ['a', 'b'], m);
    const d = await c.deleteManifest(name, 'a');
    assert.equal(d.status, 202, show(d));
    assertError(await c.getManifest(name, 'a'), 404, 'MANIFEST_UNKNOWN');
    await assertManifestServed(c, name, ['b'], m);
    assert.deepEqual((await c.listTags(name)).json().tags, ['b']);
    assertError(await c.deleteManifest(name, 'a'), 404, 'MANIFEST_UNKNOWN');
  });

  test('a deleted manifest can be pushed again', async () => {
    const name = uniqueName('repush');
    const m = await c.pushManifest(name, 'x', await c.makeImage(name));
    assert.equal((await c.deleteManifest(name, m.digest)).status, 202);
    await assertPutCreated(c, name, 'x', m);
    await assertManifestServed(c, name, ['x'], m);
  });
});

describe('manifests with storage.delete.enabled: false', () => {
  let c: OciClient;
  // Through distribution's environment override, so that path is exercised too.
  useSharedRegistry((_reg, client) => {
    c = client;
  }, { env: { REGISTRY_STORAGE_DELETE_ENABLED: 'false' } });

  test('DELETE by digest and by tag answer 405 UNSUPPORTED and change nothing', async () => {
    const name = uniqueName('nodel');
    const m = await c.pushManifest(name, 'x', await c.makeImage(name));
    assertError(await c.deleteManifest(name, m.digest), 405, 'UNSUPPORTED');
    assertError(await c.deleteManifest(name, 'x'), 405, 'UNSUPPORTED');
    const g = await c.getManifest(name, 'x');
    assert.equal(g.status, 200, show(g));
    assert.ok(g.body.equals(m.bytes));
  });
});

let tagCounter = 0;
function a1(): string {
  return `arch-${++tagCounter}`;
}
