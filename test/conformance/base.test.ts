// Conformance: the base endpoint, the API version header and the error envelope.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertApiVersion, assertError, Failures, OciClient, rawAsResp, rawRequest, show, uniqueName } from '../helpers/oci-client.js';
import { useSharedRegistry, type RunningRegistry } from '../helpers/registry.js';

describe('base', () => {
  let reg: RunningRegistry;
  let c: OciClient;
  useSharedRegistry((r, client) => {
    reg = r;
    c = client;
  });

  test('GET /v2/ answers 200 {} with the API version header', async () => {
    const r = await c.ping();
    assert.equal(r.status, 200, show(r));
    assertApiVersion(r);
    assert.deepEqual(r.json(), {});
  });

  test('HEAD /v2/ answers 200 with the API version header', async () => {
    const r = await c.head('/v2/');
    assert.equal(r.status, 200, show(r));
    assertApiVersion(r);
    assert.equal(r.body.length, 0);
  });

  test('GET /v2 (no trailing slash) is not an error', async () => {
    const r = await c.get('/v2');
    assert.ok([200, 301, 307, 308].includes(r.status), show(r));
    assertApiVersion(r);
  });

  test('unknown routes are 404 with a JSON error body', async () => {
    for (const path of ['/v2/foo/unknown-endpoint/x', '/v2/foo/bar/baz/qux', '/not-the-api', '/v2/foo/blobs']) {
      const r = await c.get(path);
      assert.equal(r.status, 404, show(r));
      assertApiVersion(r);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/, show(r));
      const body = r.json<{ errors: Array<{ code: string; message: string }> }>();
      assert.ok(Array.isArray(body.errors) && body.errors.length > 0, show(r));
      assert.equal(typeof body.errors[0]!.code, 'string', show(r));
      assert.equal(typeof body.errors[0]!.message, 'string', show(r));
    }
  });

  test('an unsupported method on a known route is a JSON 4xx error', async () => {
    const r = await c.request('DELETE', '/v2/');
    assert.ok([404, 405].includes(r.status), show(r));
    assertApiVersion(r);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/, show(r));
    assert.ok(Array.isArray(r.json().errors), show(r));
  });

  test('every response, success or error, carries Docker-Distribution-API-Version: registry/2.0', async () => {
    const name = uniqueName('base');
    const zero = `sha256:${'0'.repeat(64)}`;
    const responses = [
      await c.ping(),
      await c.catalog(),
      await c.getBlob(name, zero),
      await c.headBlob(name, zero),
      await c.getBlob(name, 'sha256:nothex'),
      await c.getManifest(name, 'latest'),
      await c.headManifest(name, 'latest'),
      await c.listTags(name),
      await c.startUpload(name),
      await c.referrers(name, zero),
      await c.get('/v2/BAD/tags/list'),
      rawAsResp(await rawRequest({ port: reg.port, method: 'GET', target: '/v2/../x/tags/list' })),
    ];
    for (const r of responses) assertApiVersion(r);
  });

  test('repository names that look like API path segments route correctly', async () => {
    const prefix = uniqueName('route');
    for (const name of [`${prefix}/blobs`, `${prefix}/manifests`, `${prefix}/tags`, `${prefix}/blobs/uploads`, `${prefix}/referrers`, `${prefix}/v2`, `${prefix}/tags/list`]) {
      const img = await c.makeImage(name, { layers: 1 });
      await c.pushManifest(name, 'latest', img);
      const g = await c.getManifest(name, 'latest');
      assert.equal(g.status, 200, `${name}: ${show(g)}`);
      assert.ok(g.body.equals(img.bytes), name);
      const b = await c.getBlob(name, img.blobs[1]!.digest);
      assert.equal(b.status, 200, `${name}: ${show(b)}`);
      const t = await c.listTags(name);
      assert.deepEqual(t.json(), { name, tags: ['latest'] }, `${name}: ${show(t)}`);
      const ref = await c.referrers(name, img.digest);
      assert.equal(ref.status, 200, `${name}: ${show(ref)}`);
    }
    const cat = await c.catalog({ n: '1000' });
    const listed = cat.json<{ repositories: string[] }>().repositories.filter((n) => n.startsWith(`${prefix}/`));
    assert.deepEqual(listed, [`${prefix}/blobs`, `${prefix}/blobs/uploads`, `${prefix}/manifests`, `${prefix}/referrers`, `${prefix}/tags`, `${prefix}/tags/list`, `${prefix}/v2`]);
  });

  // Beyond the brief: RFC 3986 6.2.2.2 makes `%2D`/`%2E` equivalent to `-`/`.`, and CNCF distribution
  // decodes path segments (so `sha256%3A...`, which JavaScript's encodeURIComponent produces, works there).
  test('percent-encoded characters in names, tags and digests are decoded', async () => {
    const name = uniqueName('pct');
    const img = await c.pushManifest(name, 'v1.0', await c.makeImage(name, { layers: 1 }));
    const layer = img.blobs[1]!;
    const encName = name.replace(/-/g, '%2D');
    const f = new Failures();
    for (const target of [
      `/v2/${name}/blobs/${layer.digest.replace(':', '%3A')}`,
      `/v2/${encName}/blobs/${layer.digest}`,
      `/v2/${name}/manifests/v1%2E0`,
      `/v2/${name}/manifests/${img.digest.replace(':', '%3a')}`,
      `/v2/${encName}/tags/list`,
    ]) {
      await f.check(target, async () => {
        const r = rawAsResp(await rawRequest({ port: reg.port, method: 'GET', target, headers: { accept: img.mediaType } }));
        assert.equal(r.status, 200, show(r));
      });
    }
    f.done();
  });

  test('error bodies use the OCI envelope and the spec codes', async () => {
    const name = uniqueName('base');
    assertError(await c.getBlob(name, `sha256:${'1'.repeat(64)}`), 404, 'BLOB_UNKNOWN');
    assertError(await c.getManifest(name, `sha256:${'1'.repeat(64)}`), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
    assertError(await c.get('/v2/Upper/tags/list'), 400, 'NAME_INVALID');
  });
});
