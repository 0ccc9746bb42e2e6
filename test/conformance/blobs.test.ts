// Conformance: blob GET/HEAD/DELETE, ranges, repository scoping, digest validation.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assertApiVersion, assertError, makeBlob, OciClient, randomBlob, rawRequest, sha256, show, uniqueName } from '../helpers/oci-client.js';
import { startRegistry, useSharedRegistry, type RunningRegistry } from '../helpers/registry.js';

describe('blobs', () => {
  let reg: RunningRegistry;
  let c: OciClient;
  useSharedRegistry((r, client) => {
    reg = r;
    c = client;
  });

  test('GET returns the bytes with Content-Length, Docker-Content-Digest, Content-Type and Accept-Ranges', async () => {
    const name = uniqueName('blobs');
    const blob = randomBlob(10_000);
    await c.pushBlob(name, blob);
    const r = await c.getBlob(name, blob.digest);
    assert.equal(r.status, 200, show(r));
    assertApiVersion(r);
    assert.ok(r.body.equals(blob.data), 'body differs');
    assert.equal(r.headers.get('content-length'), String(blob.size), show(r));
    assert.equal(r.headers.get('docker-content-digest'), blob.digest, show(r));
    assert.equal(r.headers.get('content-type'), 'application/octet-stream', show(r));
    assert.equal(r.headers.get('accept-ranges'), 'bytes', show(r));
  });

  test('HEAD returns the same headers and no body', async () => {
    const name = uniqueName('blobs');
    const blob = randomBlob(4321);
    await c.pushBlob(name, blob);
    const r = await c.headBlob(name, blob.digest);
    assert.equal(r.status, 200, show(r));
    assertApiVersion(r);
    assert.equal(r.body.length, 0);
    assert.equal(r.headers.get('content-length'), String(blob.size), show(r));
    assert.equal(r.headers.get('docker-content-digest'), blob.digest, show(r));
    assert.equal(r.headers.get('content-type'), 'application/octet-stream', show(r));
    assert.equal(r.headers.get('accept-ranges'), 'bytes', show(r));
  });

  test('nested repository names work', async () => {
    const name = `${uniqueName('org')}/team/app`;
    const blob = randomBlob(100);
    await c.pushBlob(name, blob);
    const r = await c.getBlob(name, blob.digest);
    assert.equal(r.status, 200, show(r));
    assert.ok(r.body.equals(blob.data));
  });

  test('an unknown blob is 404 BLOB_UNKNOWN (GET and HEAD)', async () => {
    const name = uniqueName('blobs');
    await c.pushBlob(name, randomBlob(10)); // the repository exists
    const missing = sha256('never pushed ' + name);
    assertError(await c.getBlob(name, missing), 404, 'BLOB_UNKNOWN');
    const h = await c.headBlob(name, missing);
    assert.equal(h.status, 404, show(h));
    assertApiVersion(h);
    assertError(await c.getBlob(uniqueName('nosuchrepo'), missing), 404, ['BLOB_UNKNOWN', 'NAME_UNKNOWN']);
  });

  test('a blob in the store but never pushed to this repository is 404 BLOB_UNKNOWN there', async () => {
    const a = uniqueName('owner');
    const b = uniqueName('other');
    const blob = randomBlob(2048);
    await c.pushBlob(a, blob);
    await c.pushBlob(b, randomBlob(16)); // b exists as a repository
    assertError(await c.getBlob(b, blob.digest), 404, 'BLOB_UNKNOWN');
    const h = await c.headBlob(b, blob.digest);
    assert.equal(h.status, 404, show(h));
    assertError(await c.getBlob(uniqueName('fresh'), blob.digest), 404, ['BLOB_UNKNOWN', 'NAME_UNKNOWN']);
    // still readable where it was pushed
    assert.equal((await c.getBlob(a, blob.digest)).status, 200);
  });

  test('Range: bytes=a-b answers 206 with Content-Range and the slice', async () => {
    const name = uniqueName('range');
    const blob = randomBlob(5000);
    await c.pushBlob(name, blob);
    for (const [a, b] of [
      [0, 0],
      [10, 19],
      [1000, 4999],
      [4999, 4999],
    ] as const) {
      const r = await c.getBlob(name, blob.digest, { range: `bytes=${a}-${b}` });
      assert.equal(r.status, 206, show(r));
      assertApiVersion(r);
      assert.equal(r.headers.get('content-range'), `bytes ${a}-${b}/${blob.size}`, show(r));
      assert.equal(r.headers.get('content-length'), String(b - a + 1), show(r));
      assert.ok(r.body.equals(blob.data.subarray(a, b + 1)), `range ${a}-${b} body differs`);
    }
  });

  test('Range: bytes=a- (resume a download) answers 206 up to the end', async () => {
    const name = uniqueName('range');
    const blob = randomBlob(3000);
    await c.pushBlob(name, blob);
    const r = await c.getBlob(name, blob.digest, { range: 'bytes=1234-' });
    assert.equal(r.status, 206, show(r));
    assert.equal(r.headers.get('content-range'), `bytes 1234-2999/3000`, show(r));
    assert.ok(r.body.equals(blob.data.subarray(1234)));
  });

  test('a range ending past the end is clamped to the blob', async () => {
    const name = uniqueName('range');
    const blob = randomBlob(1000);
    await c.pushBlob(name, blob);
    const r = await c.getBlob(name, blob.digest, { range: 'bytes=900-5000' });
    assert.equal(r.status, 206, show(r));
    assert.equal(r.headers.get('content-range'), 'bytes 900-999/1000', show(r));
    assert.ok(r.body.equals(blob.data.subarray(900)));
  });

  test('suffix and malformed ranges never return wrong bytes', async () => {
    const name = uniqueName('range');
    const blob = randomBlob(1000);
    await c.pushBlob(name, blob);
    const suffix = await c.getBlob(name, blob.digest, { range: 'bytes=-100' });
    if (suffix.status === 206) {
      assert.equal(suffix.headers.get('content-range'), 'bytes 900-999/1000', show(suffix));
      assert.ok(suffix.body.equals(blob.data.subarray(900)));
    } else {
      assert.equal(suffix.status, 200, show(suffix));
      assert.ok(suffix.body.equals(blob.data));
    }
    for (const range of ['bytes=abc', 'bytes=5-2', 'items=0-5', 'bytes=--1']) {
      const r = await c.getBlob(name, blob.digest, { range });
      assert.ok([200, 400, 416].includes(r.status), `${range}: ${show(r)}`);
      if (r.status === 200) assert.ok(r.body.equals(blob.data), `${range}: 200 with wrong bytes`);
    }
  });

  test('a 32 MiB blob round-trips intact', async () => {
    const name = uniqueName('large');
    const blob = randomBlob(32 * 1024 * 1024);
    const r = await c.pushBlobMonolithic(name, blob);
    assert.equal(r.status, 201, show(r));
    const g = await c.getBlob(name, blob.digest);
    assert.equal(g.status, 200, show(g));
    assert.equal(g.body.length, blob.size);
    assert.equal(sha256(g.body), blob.digest);
    const tail = await c.getBlob(name, blob.digest, { range: `bytes=${blob.size - 1000}-` });
    assert.ok(tail.body.equals(blob.data.subarray(blob.size - 1000)));
  });

  test('blobs are served as stored even when the client accepts gzip', async () => {
    const name = uniqueName('gzip');
    const blob = makeBlob(Buffer.from('a'.repeat(100_000))); // very compressible
    await c.pushBlob(name, blob);
    const r = await rawRequest({ port: reg.port, method: 'GET', target: `/v2/${name}/blobs/${blob.digest}`, headers: { 'accept-encoding': 'gzip, deflate, br' } });
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-encoding'] ?? 'identity', 'identity', 'blob was re-encoded');
    assert.ok(r.body.equals(blob.data), 'raw bytes differ');
    assert.equal(r.headers['content-length'], String(blob.size));
  });

  test('an unsatisfiable range answers 416', async () => {
    const name = uniqueName('range');
    const blob = randomBlob(100);
    await c.pushBlob(name, blob);
    for (const range of ['bytes=100-110', 'bytes=500-', 'bytes=200-300']) {
      const r = await c.getBlob(name, blob.digest, { range });
      assert.equal(r.status, 416, `${range}: ${show(r)}`);
      assertApiVersion(r);
    }
  });

  test('an invalid digest is 400 DIGEST_INVALID', async () => {
    const name = uniqueName('blobs');
    await c.pushBlob(name, randomBlob(10));
    for (const d of ['sha256:abc', `SHA256:${'a'.repeat(64)}`, `sha256:${'a'.repeat(64)}%0A`, `sha256:${'A'.repeat(64)}`, `sha256:${'g'.repeat(64)}`, `sha256:${'0'.repeat(63)}`, 'sha256:', `sha256:${'0'.repeat(65)}`]) {
      assertError(await c.getBlob(name, d), 400, 'DIGEST_INVALID');
      const h = await c.headBlob(name, d);
      assert.equal(h.status, 400, `HEAD ${d}: ${show(h)}`);
      assertError(await c.deleteBlob(name, d), 400, 'DIGEST_INVALID');
    }
  });

  test('DELETE answers 202, then GET and HEAD are 404 BLOB_UNKNOWN', async () => {
    const name = uniqueName('del');
    const blob = randomBlob(777);
    await c.pushBlob(name, blob);
    // warm any cache first
    assert.equal((await c.headBlob(name, blob.digest)).status, 200);
    assert.equal((await c.getBlob(name, blob.digest)).status, 200);
    const d = await c.deleteBlob(name, blob.digest);
    assert.equal(d.status, 202, show(d));
    assertApiVersion(d);
    assertError(await c.getBlob(name, blob.digest), 404, 'BLOB_UNKNOWN');
    assert.equal((await c.headBlob(name, blob.digest)).status, 404);
  });

  test('DELETE of an unknown blob is 404 BLOB_UNKNOWN', async () => {
    const name = uniqueName('del');
    await c.pushBlob(name, randomBlob(10));
    assertError(await c.deleteBlob(name, sha256('nope' + name)), 404, 'BLOB_UNKNOWN');
  });

  test('DELETE in one repository leaves the blob readable in another', async () => {
    const a = uniqueName('del-a');
    const b = uniqueName('del-b');
    const blob = randomBlob(500);
    await c.pushBlob(a, blob);
    await c.pushBlob(b, blob);
    assert.equal((await c.deleteBlob(a, blob.digest)).status, 202);
    assertError(await c.getBlob(a, blob.digest), 404, 'BLOB_UNKNOWN');
    const r = await c.getBlob(b, blob.digest);
    assert.equal(r.status, 200, show(r));
    assert.ok(r.body.equals(blob.data));
  });

  test('a deleted blob can be pushed again', async () => {
    const name = uniqueName('del');
    const blob = randomBlob(300);
    await c.pushBlob(name, blob);
    assert.equal((await c.deleteBlob(name, blob.digest)).status, 202);
    await c.pushBlob(name, blob);
    const r = await c.getBlob(name, blob.digest);
    assert.equal(r.status, 200, show(r));
    assert.ok(r.body.equals(blob.data));
  });
});

describe('blobs with storage.delete.enabled: false', () => {
  let c: OciClient;
  // Through distribution's environment override, so that path is exercised too.
  useSharedRegistry((_reg, client) => {
    c = client;
  }, { env: { REGISTRY_STORAGE_DELETE_ENABLED: 'false' } });

  test('DELETE answers 405 UNSUPPORTED and the blob stays', async () => {
    const name = uniqueName('nodel');
    const blob = randomBlob(100);
    await c.pushBlob(name, blob);
    assertError(await c.deleteBlob(name, blob.digest), 405, 'UNSUPPORTED');
    const r = await c.getBlob(name, blob.digest);
    assert.equal(r.status, 200, show(r));
    assert.ok(r.body.equals(blob.data));
  });
});

test('clients that drop a large blob download half way never bring the registry down', { timeout: 60_000 }, async (t) => {
  const { connect } = await import('node:net');
  const reg = await startRegistry(t);
  const client = new OciClient(reg.url);
  const name = uniqueName('drop');
  const blob = randomBlob(24 * 1024 * 1024);
  assert.equal((await client.pushBlobMonolithic(name, blob)).status, 201);
  for (let i = 0; i < 20; i++) {
    await new Promise<void>((resolve) => {
      const socket = connect(reg.port, '127.0.0.1', () => {
        socket.write(`GET /v2/${name}/blobs/${blob.digest} HTTP/1.1\r\nHost: x\r\n\r\n`);
      });
      let received = 0;
      socket.on('data', (chunk) => {
        received += chunk.length;
        // Cut at a different point each time, with a reset (no FIN), mid-body.
        if (received > (i + 1) * 300_000) {
          socket.resetAndDestroy();
          resolve();
        }
      });
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
    });
  }
  assert.equal(reg.process.exitCode, null, `the registry exited:\n${reg.output()}`);
  const whole = await client.getBlob(name, blob.digest);
  assert.equal(whole.status, 200);
  assert.equal(sha256(whole.body), blob.digest);
});
