// Conformance: blob uploads (monolithic, POST+PUT, chunked, streamed), status, cancel, mount.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  assertApiVersion,
  assertError,
  makeBlob,
  OciClient,
  randomBlob,
  requireLocation,
  sha256,
  sharedHooks,
  show,
  uniqueName,
  type Resp,
} from '../helpers/oci-client.js';
import { useSharedRegistry, type RunningRegistry } from '../helpers/registry.js';

/** The path of a Location header (absolute or relative). */
function locationPath(r: Resp, base: string): string {
  return new URL(requireLocation(r), `${base}/`).pathname;
}

async function assertBlobReadable(c: OciClient, name: string, data: Buffer): Promise<void> {
  const digest = sha256(data);
  const r = await c.getBlob(name, digest);
  assert.equal(r.status, 200, show(r));
  assert.ok(r.body.equals(data), `blob ${digest} body differs`);
  assert.equal(sha256(r.body), digest);
}

async function assertBlobAbsent(c: OciClient, name: string, digest: string): Promise<void> {
  const r = await c.headBlob(name, digest);
  assert.equal(r.status, 404, `blob ${digest} should not exist: ${show(r)}`);
}

describe('uploads', () => {
  let reg: RunningRegistry;
  let c: OciClient;
  useSharedRegistry((r, client) => {
    reg = r;
    c = client;
  });

  test('POST starts a session: 202, Location, Docker-Upload-UUID, Range 0-0, OCI-Chunk-Min-Length', async () => {
    const name = uniqueName('up');
    const r = await c.startUpload(name);
    assert.equal(r.status, 202, show(r));
    assertApiVersion(r);
    const path = locationPath(r, c.base);
    const m = new RegExp(`^/v2/${name}/blobs/uploads/([^/?]+)$`).exec(path);
    assert.ok(m, `Location path ${path}`);
    const uuid = r.headers.get('docker-upload-uuid');
    assert.ok(uuid, show(r));
    assert.equal(decodeURIComponent(m[1]!), uuid, 'Location carries the upload id');
    assert.equal(r.headers.get('range'), '0-0', show(r));
    const min = r.headers.get('oci-chunk-min-length');
    assert.ok(min !== null && /^\d+$/.test(min) && Number(min) > 0, `OCI-Chunk-Min-Length: ${show(r)}`);
  });

  test('POST ?digest=D with the body is a monolithic upload: 201, Location of the blob, Docker-Content-Digest', async () => {
    const name = uniqueName('mono');
    const blob = randomBlob(20_000);
    const r = await c.pushBlobMonolithic(name, blob);
    assert.equal(r.status, 201, show(r));
    assertApiVersion(r);
    assert.equal(locationPath(r, c.base), `/v2/${name}/blobs/${blob.digest}`);
    assert.equal(r.headers.get('docker-content-digest'), blob.digest, show(r));
    await assertBlobReadable(c, name, blob.data);
  });

  test('monolithic POST with a wrong digest is 400 DIGEST_INVALID and nothing becomes visible', async () => {
    const name = uniqueName('mono');
    const blob = randomBlob(5000);
    const claimed = sha256('something else');
    const r = await c.startUpload(name, { digest: claimed }, blob.data);
    assertError(r, 400, 'DIGEST_INVALID');
    await assertBlobAbsent(c, name, claimed);
    await assertBlobAbsent(c, name, blob.digest);
  });

  test('sha512 blobs are either refused with DIGEST_INVALID or fully supported', async () => {
    const name = uniqueName('sha512');
    const data = randomBlob(5000).data;
    const digest = `sha512:${createHash('sha512').update(data).digest('hex')}`;
    const s = await c.startUpload(name);
    const r = await c.finishUpload(requireLocation(s), digest, data);
    if (r.status !== 201) {
      assertError(r, 400, ['DIGEST_INVALID', 'UNSUPPORTED']);
      return;
    }
    assert.equal(r.headers.get('docker-content-digest'), digest, show(r));
    const g = await c.getBlob(name, digest);
    assert.equal(g.status, 200, show(g));
    assert.ok(g.body.equals(data));
    assert.equal(g.headers.get('docker-content-digest'), digest, show(g));
    // a wrong sha512 is refused
    const s2 = await c.startUpload(name);
    assertError(await c.finishUpload(requireLocation(s2), `sha512:${'0'.repeat(128)}`, data), 400, 'DIGEST_INVALID');
  });

  test('a zero-length blob can be pushed', async () => {
    const name = uniqueName('empty');
    const blob = makeBlob(Buffer.alloc(0));
    const r = await c.pushBlobPostPut(name, blob);
    assert.equal(r.status, 201, show(r));
    const g = await c.getBlob(name, blob.digest);
    assert.equal(g.status, 200, show(g));
    assert.equal(g.body.length, 0);
    assert.equal(g.headers.get('content-length'), '0');
  });

  test('POST then PUT ?digest=D with the whole body: 201 with Location and Docker-Content-Digest', async () => {
    const name = uniqueName('postput');
    const blob = randomBlob(100_000);
    const r = await c.pushBlobPostPut(name, blob);
    assert.equal(r.status, 201, show(r));
    assertApiVersion(r);
    assert.equal(locationPath(r, c.base), `/v2/${name}/blobs/${blob.digest}`);
    assert.equal(r.headers.get('docker-content-digest'), blob.digest, show(r));
    await assertBlobReadable(c, name, blob.data);
  });

  test('chunked: PATCH with Content-Range returns 202, a Location and Range 0-<last>; PUT finishes', async () => {
    const name = uniqueName('chunked');
    const blob = randomBlob(300_000);
    const s = await c.startUpload(name);
    assert.equal(s.status, 202, show(s));
    const min = Number(s.headers.get('oci-chunk-min-length') ?? '1');
    const chunk = Math.max(min, 100_000);
    let loc = requireLocation(s);
    const uuid = s.headers.get('docker-upload-uuid');
    for (let off = 0; off < blob.size; off += chunk) {
      const part = blob.data.subarray(off, Math.min(off + chunk, blob.size));
      const r = await c.patchChunk(loc, part, off);
      assert.equal(r.status, 202, show(r));
      assertApiVersion(r);
      assert.equal(r.headers.get('range'), `0-${off + part.length - 1}`, show(r));
      assert.equal(r.headers.get('docker-upload-uuid'), uuid, show(r));
      assert.match(locationPath(r, c.base), new RegExp(`^/v2/${name}/blobs/uploads/`));
      loc = requireLocation(r);
    }
    const f = await c.finishUpload(loc, blob.digest);
    assert.equal(f.status, 201, show(f));
    assert.equal(f.headers.get('docker-content-digest'), blob.digest, show(f));
    assert.equal(locationPath(f, c.base), `/v2/${name}/blobs/${blob.digest}`);
    await assertBlobReadable(c, name, blob.data);
  });

  test('chunked with the last chunk in the PUT body', async () => {
    const name = uniqueName('chunked');
    const blob = randomBlob(50_000);
    const s = await c.startUpload(name);
    const p = await c.patchChunk(requireLocation(s), blob.data.subarray(0, 30_000), 0);
    assert.equal(p.status, 202, show(p));
    const f = await c.finishUpload(requireLocation(p), blob.digest, blob.data.subarray(30_000), {
      'content-range': `30000-${blob.size - 1}`,
    });
    assert.equal(f.status, 201, show(f));
    await assertBlobReadable(c, name, blob.data);
  });

  test('the client helper pushes chunked blobs end to end', async () => {
    const name = uniqueName('chunked');
    const blob = randomBlob(200_001);
    const r = await c.pushBlobChunked(name, blob, 65_536);
    assert.equal(r.status, 201, show(r));
    await assertBlobReadable(c, name, blob.data);
  });

  test('PATCH without Content-Range (streamed) appends', async () => {
    const name = uniqueName('stream');
    const blob = randomBlob(90_000);
    const s = await c.startUpload(name);
    let loc = requireLocation(s);
    for (const [a, b] of [
      [0, 40_000],
      [40_000, 90_000],
    ] as const) {
      const r = await c.patchChunk(loc, blob.data.subarray(a, b), null);
      assert.equal(r.status, 202, show(r));
      assert.equal(r.headers.get('range'), `0-${b - 1}`, show(r));
      loc = requireLocation(r);
    }
    const f = await c.finishUpload(loc, blob.digest);
    assert.equal(f.status, 201, show(f));
    await assertBlobReadable(c, name, blob.data);
  });

  test('PATCH with a chunked Transfer-Encoding body (as docker sends it) appends', async () => {
    const name = uniqueName('te');
    const blob = randomBlob(400_000);
    const s = await c.startUpload(name);
    const stream = (data: Buffer) =>
      new ReadableStream<Uint8Array>({
        start(ctrl) {
          for (let off = 0; off < data.length; off += 50_000) ctrl.enqueue(data.subarray(off, Math.min(off + 50_000, data.length)));
          ctrl.close();
        },
      });
    const p1 = await c.request('PATCH', requireLocation(s), { headers: { 'content-type': 'application/octet-stream' }, body: stream(blob.data.subarray(0, 250_000)) });
    assert.equal(p1.status, 202, show(p1));
    assert.equal(p1.headers.get('range'), '0-249999', show(p1));
    const p2 = await c.request('PATCH', requireLocation(p1), { headers: { 'content-type': 'application/octet-stream' }, body: stream(blob.data.subarray(250_000)) });
    assert.equal(p2.status, 202, show(p2));
    assert.equal(p2.headers.get('range'), `0-${blob.size - 1}`, show(p2));
    const f = await c.finishUpload(requireLocation(p2), blob.digest);
    assert.equal(f.status, 201, show(f));
    await assertBlobReadable(c, name, blob.data);
    // and a monolithic POST ?digest= with a chunked body
    const other = randomBlob(123_456);
    const m = await c.request('POST', `/v2/${name}/blobs/uploads/?digest=${other.digest}`, { headers: { 'content-type': 'application/octet-stream' }, body: stream(other.data) });
    assert.equal(m.status, 201, show(m));
    await assertBlobReadable(c, name, other.data);
  });

  test('a chunk that does not start at the current size is 416 with the Range the server has', async () => {
    const name = uniqueName('ooo');
    const blob = randomBlob(3000);
    const s = await c.startUpload(name);
    const p = await c.patchChunk(requireLocation(s), blob.data.subarray(0, 1000), 0);
    assert.equal(p.status, 202, show(p));
    let loc = requireLocation(p);
    // a gap
    const gap = await c.patchChunk(loc, blob.data.subarray(2000, 3000), 2000);
    assertError(gap, 416, ['BLOB_UPLOAD_INVALID', 'RANGE_INVALID']);
    assert.equal(gap.headers.get('range'), '0-999', show(gap));
    // an overlap (restarting at 0)
    const overlap = await c.patchChunk(loc, blob.data.subarray(0, 1000), 0);
    assertError(overlap, 416, ['BLOB_UPLOAD_INVALID', 'RANGE_INVALID']);
    assert.equal(overlap.headers.get('range'), '0-999', show(overlap));
    // the session is still usable with the right offset
    const st = await c.uploadStatus(loc);
    assert.equal(st.status, 204, show(st));
    assert.equal(st.headers.get('range'), '0-999', show(st));
    loc = requireLocation(st);
    const ok = await c.patchChunk(loc, blob.data.subarray(1000), 1000);
    assert.equal(ok.status, 202, show(ok));
    const f = await c.finishUpload(requireLocation(ok), blob.digest);
    assert.equal(f.status, 201, show(f));
    await assertBlobReadable(c, name, blob.data);
  });

  test('PUT with a wrong digest is 400 DIGEST_INVALID and the blob is not visible', async () => {
    const name = uniqueName('wrong');
    const blob = randomBlob(10_000);
    const claimed = sha256('not this content');
    const s = await c.startUpload(name);
    const p = await c.patchChunk(requireLocation(s), blob.data, 0);
    assert.equal(p.status, 202, show(p));
    const f = await c.finishUpload(requireLocation(p), claimed);
    assertError(f, 400, 'DIGEST_INVALID');
    await assertBlobAbsent(c, name, claimed);
    await assertBlobAbsent(c, name, blob.digest);
  });

  test('PUT with a wrong digest in the monolithic form is 400 DIGEST_INVALID', async () => {
    const name = uniqueName('wrong');
    const blob = randomBlob(10_000);
    const claimed = sha256('also not this content');
    const s = await c.startUpload(name);
    const f = await c.finishUpload(requireLocation(s), claimed, blob.data);
    assertError(f, 400, 'DIGEST_INVALID');
    await assertBlobAbsent(c, name, claimed);
    await assertBlobAbsent(c, name, blob.digest);
  });

  test('PUT without the digest parameter is 400 DIGEST_INVALID', async () => {
    const name = uniqueName('nodigest');
    const blob = randomBlob(1000);
    const s = await c.startUpload(name);
    const f = await c.finishUpload(requireLocation(s), null, blob.data);
    assertError(f, 400, 'DIGEST_INVALID');
    await assertBlobAbsent(c, name, blob.digest);
  });

  test('PUT with a malformed digest parameter is 400 DIGEST_INVALID', async () => {
    const name = uniqueName('baddigest');
    const blob = randomBlob(1000);
    const s = await c.startUpload(name);
    const f = await c.finishUpload(requireLocation(s), 'sha256:xyz', blob.data);
    assertError(f, 400, 'DIGEST_INVALID');
  });

  test('GET on the upload answers 204 with Range and Docker-Upload-UUID', async () => {
    const name = uniqueName('status');
    const s = await c.startUpload(name);
    const uuid = s.headers.get('docker-upload-uuid');
    const st0 = await c.uploadStatus(requireLocation(s));
    assert.equal(st0.status, 204, show(st0));
    assertApiVersion(st0);
    assert.equal(st0.headers.get('range'), '0-0', show(st0));
    assert.equal(st0.headers.get('docker-upload-uuid'), uuid, show(st0));
    const p = await c.patchChunk(requireLocation(s), randomBlob(1234).data, 0);
    const st1 = await c.uploadStatus(requireLocation(p));
    assert.equal(st1.status, 204, show(st1));
    assert.equal(st1.headers.get('range'), '0-1233', show(st1));
    assert.equal(st1.headers.get('docker-upload-uuid'), uuid, show(st1));
    assert.ok(st1.headers.get('location'), show(st1));
  });

  test('DELETE on the upload answers 204, then the upload is 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const name = uniqueName('cancel');
    const s = await c.startUpload(name);
    const p = await c.patchChunk(requireLocation(s), randomBlob(100).data, 0);
    const loc = requireLocation(p);
    const d = await c.cancelUpload(loc);
    assert.equal(d.status, 204, show(d));
    assertApiVersion(d);
    assertError(await c.uploadStatus(loc), 404, 'BLOB_UPLOAD_UNKNOWN');
    assertError(await c.patchChunk(loc, randomBlob(10).data, 100), 404, 'BLOB_UPLOAD_UNKNOWN');
    assertError(await c.finishUpload(loc, sha256('x')), 404, 'BLOB_UPLOAD_UNKNOWN');
    assertError(await c.cancelUpload(loc), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  test('a finished upload is gone: its Location answers 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const name = uniqueName('done');
    const blob = randomBlob(100);
    const s = await c.startUpload(name);
    const loc = requireLocation(s);
    const f = await c.finishUpload(loc, blob.digest, blob.data);
    assert.equal(f.status, 201, show(f));
    assertError(await c.uploadStatus(loc), 404, 'BLOB_UPLOAD_UNKNOWN');
    assertError(await c.patchChunk(loc, blob.data, 0), 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  test('unknown or malformed upload ids are 404 BLOB_UPLOAD_UNKNOWN', async () => {
    const name = uniqueName('unknown');
    await c.pushBlob(name, randomBlob(10));
    for (const id of [randomUUID(), 'not-a-uuid', '0', 'ZZZZZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZZZZZZZZZ', 'a'.repeat(300)]) {
      const loc = `/v2/${name}/blobs/uploads/${id}`;
      assertError(await c.uploadStatus(loc), 404, 'BLOB_UPLOAD_UNKNOWN');
      assertError(await c.patchChunk(loc, Buffer.from('abc'), 0), 404, 'BLOB_UPLOAD_UNKNOWN');
      assertError(await c.finishUpload(loc, sha256('abc'), Buffer.from('abc')), 404, 'BLOB_UPLOAD_UNKNOWN');
      assertError(await c.cancelUpload(loc), 404, 'BLOB_UPLOAD_UNKNOWN');
    }
  });

  test('an upload session belongs to its repository', async () => {
    const a = uniqueName('owner');
    const b = uniqueName('thief');
    const s = await c.startUpload(a);
    const uuid = s.headers.get('docker-upload-uuid');
    assert.ok(uuid);
    const foreign = `/v2/${b}/blobs/uploads/${uuid}`;
    assertError(await c.uploadStatus(foreign), 404, 'BLOB_UPLOAD_UNKNOWN');
    const blob = randomBlob(10);
    assertError(await c.finishUpload(foreign, blob.digest, blob.data), 404, 'BLOB_UPLOAD_UNKNOWN');
    await assertBlobAbsent(c, b, blob.digest);
    // the real session is unaffected
    const f = await c.finishUpload(requireLocation(s), blob.digest, blob.data);
    assert.equal(f.status, 201, show(f));
  });

  test('two sessions in one repository are independent', async () => {
    const name = uniqueName('two');
    const x = randomBlob(5000);
    const y = randomBlob(7000);
    const sx = await c.startUpload(name);
    const sy = await c.startUpload(name);
    assert.notEqual(sx.headers.get('docker-upload-uuid'), sy.headers.get('docker-upload-uuid'));
    const px = await c.patchChunk(requireLocation(sx), x.data, 0);
    const py = await c.patchChunk(requireLocation(sy), y.data, 0);
    assert.equal((await c.finishUpload(requireLocation(py), y.digest)).status, 201);
    assert.equal((await c.finishUpload(requireLocation(px), x.digest)).status, 201);
    await assertBlobReadable(c, name, x.data);
    await assertBlobReadable(c, name, y.data);
  });

  test('cross-repository mount from a repository that has the blob: 201 and readable in the target', async () => {
    const a = uniqueName('src');
    const b = uniqueName('dst');
    const blob = randomBlob(4096);
    await c.pushBlob(a, blob);
    const r = await c.startUpload(b, { mount: blob.digest, from: a });
    assert.equal(r.status, 201, show(r));
    assertApiVersion(r);
    assert.equal(locationPath(r, c.base), `/v2/${b}/blobs/${blob.digest}`);
    assert.equal(r.headers.get('docker-content-digest'), blob.digest, show(r));
    await assertBlobReadable(c, b, blob.data);
  });

  test('mount from a repository that lacks the blob: 202 and a working upload session', async () => {
    const a = uniqueName('src');
    const b = uniqueName('dst');
    const other = randomBlob(64);
    await c.pushBlob(a, other);
    const blob = randomBlob(4096);
    // the blob exists in the store (pushed to a third repository) but not in `a`
    await c.pushBlob(uniqueName('third'), blob);
    const r = await c.startUpload(b, { mount: blob.digest, from: a });
    assert.equal(r.status, 202, show(r));
    assert.match(locationPath(r, c.base), new RegExp(`^/v2/${b}/blobs/uploads/`));
    assert.ok(r.headers.get('docker-upload-uuid'), show(r));
    const f = await c.finishUpload(requireLocation(r), blob.digest, blob.data);
    assert.equal(f.status, 201, show(f));
    await assertBlobReadable(c, b, blob.data);
  });

  test('mount from an unknown repository: 202 and an upload session', async () => {
    const b = uniqueName('dst');
    const blob = randomBlob(100);
    const r = await c.startUpload(b, { mount: blob.digest, from: uniqueName('ghost') });
    assert.equal(r.status, 202, show(r));
    const f = await c.finishUpload(requireLocation(r), blob.digest, blob.data);
    assert.equal(f.status, 201, show(f));
  });

  test('mount from a repository whose link was deleted is not a mount; a mounted blob survives deletion at the source', async () => {
    const a = uniqueName('src');
    const b = uniqueName('dst');
    const d = uniqueName('dst2');
    const blob = randomBlob(999);
    await c.pushBlob(a, blob);
    const m = await c.startUpload(b, { mount: blob.digest, from: a });
    assert.equal(m.status, 201, show(m));
    assert.equal((await c.headBlob(a, blob.digest)).status, 200); // warm
    assert.equal((await c.deleteBlob(a, blob.digest)).status, 202);
    await assertBlobReadable(c, b, blob.data);
    const r = await c.startUpload(d, { mount: blob.digest, from: a });
    assert.equal(r.status, 202, `mounted from a repository that no longer has the blob: ${show(r)}`);
    await assertBlobAbsent(c, d, blob.digest);
  });

  test('mount without from: 201 when the blob is in the store, 202 when it is not', async () => {
    const a = uniqueName('src');
    const b = uniqueName('dst');
    const blob = randomBlob(2222);
    await c.pushBlob(a, blob);
    const r = await c.startUpload(b, { mount: blob.digest });
    assert.equal(r.status, 201, show(r));
    assert.equal(r.headers.get('docker-content-digest'), blob.digest, show(r));
    await assertBlobReadable(c, b, blob.data);
    const missing = randomBlob(10);
    const r2 = await c.startUpload(b, { mount: missing.digest });
    assert.equal(r2.status, 202, show(r2));
    assert.match(locationPath(r2, c.base), new RegExp(`^/v2/${b}/blobs/uploads/`));
  });
});
