import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { OciClient, makeBlob, randomBlob, requireLocation, show, sha256, uniqueName } from '../helpers/oci-client.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { startS3Server, type S3Server } from '../helpers/s3-server.js';
import { s3Config } from './config.js';

async function twoReplicas(t: TestContext): Promise<{ a: RunningRegistry; b: RunningRegistry; server: S3Server } | undefined> {
  const server = await startS3Server(t);
  if (!server) return undefined;
  const bucket = `replicas-${randomBytes(4).toString('hex')}`;
  await server.createBucket(bucket);
  const [a, b] = await Promise.all([startRegistry(t, { config: s3Config(server, bucket) }), startRegistry(t, { config: s3Config(server, bucket) })]);
  return { a, b, server };
}

describe('two registry replicas over one S3 bucket', { timeout: 240_000 }, () => {
  it('an upload begun on one replica is continued and finished on the other', async (t) => {
    const r = await twoReplicas(t);
    if (!r) return;
    const A = new OciClient(r.a.url);
    const B = new OciClient(r.b.url);
    const name = uniqueName('split');
    // 6 MiB + 1 MiB + 3 MiB + a final 100 KiB with the PUT: crosses the 5 MiB part minimum both ways.
    const blob = randomBlob(6 * 1024 * 1024 + 1024 * 1024 + 3 * 1024 * 1024 + 100 * 1024);
    const cuts = [0, 6 << 20, 7 << 20, 10 << 20, blob.size];
    let location = requireLocation(await A.startUpload(name));
    const path = (l: string) => new URL(l, 'http://x').pathname;
    for (let i = 0; i < 3; i++) {
      const client = i % 2 === 0 ? A : B;
      const res = await client.patchChunk(path(location), blob.data.subarray(cuts[i], cuts[i + 1]), cuts[i]!);
      assert.equal(res.status, 202, show(res));
      assert.equal(res.headers.get('range'), `0-${cuts[i + 1]! - 1}`);
      location = requireLocation(res);
    }
    const status = await A.uploadStatus(path(location));
    assert.equal(status.headers.get('range'), `0-${cuts[3]! - 1}`);
    const done = await B.finishUpload(path(location), blob.digest, blob.data.subarray(cuts[3]));
    assert.equal(done.status, 201, show(done));
    for (const c of [A, B]) {
      const got = await c.getBlob(name, blob.digest);
      assert.equal(got.status, 200);
      assert.equal(sha256(got.body), blob.digest);
    }
  });

  it('a manifest pushed through one replica is pullable through the other at once; deletes are seen', async (t) => {
    const r = await twoReplicas(t);
    if (!r) return;
    const A = new OciClient(r.a.url);
    const B = new OciClient(r.b.url);
    const name = uniqueName('visible');
    for (let i = 0; i < 5; i++) {
      const image = await A.makeImage(name, { layers: 2, layerSize: 2048 });
      const put = await A.putManifest(name, 'latest', image);
      assert.equal(put.status, 201, show(put));
      const viaB = await B.getManifest(name, 'latest');
      assert.equal(viaB.status, 200, show(viaB));
      assert.equal(viaB.headers.get('docker-content-digest'), image.digest, 'B serves the tag A just moved');
      assert.deepEqual(viaB.body, image.bytes);
    }
    const del = await A.deleteManifest(name, 'latest');
    assert.equal(del.status, 202, show(del));
    assert.equal((await B.getManifest(name, 'latest')).status, 404, 'a deleted tag is gone on the other replica at once');
  });

  it('concurrent pushes of one tag through both replicas leave a consistent tag', async (t) => {
    const r = await twoReplicas(t);
    if (!r) return;
    const A = new OciClient(r.a.url);
    const B = new OciClient(r.b.url);
    const name = uniqueName('race');
    for (let round = 0; round < 5; round++) {
      const [ia, ib] = await Promise.all([A.makeImage(name, { layerSize: 512 }), B.makeImage(name, { layerSize: 512 })]);
      const [pa, pb] = await Promise.all([A.putManifest(name, 'shared', ia), B.putManifest(name, 'shared', ib)]);
      assert.equal(pa.status, 201, show(pa));
      assert.equal(pb.status, 201, show(pb));
      const [ga, gb] = await Promise.all([A.getManifest(name, 'shared'), B.getManifest(name, 'shared')]);
      const winner = ga.headers.get('docker-content-digest');
      assert.ok(winner === ia.digest || winner === ib.digest, 'the tag is one of the two pushes');
      assert.equal(gb.headers.get('docker-content-digest'), winner, 'both replicas agree');
      assert.equal(sha256(ga.body), winner, 'the bytes served are the manifest the tag names');
    }
    const tags = await B.listTags(name);
    assert.deepEqual(tags.json().tags, ['shared']);
  });

  it('with redirects on, blob GET is a 307 to a presigned URL that serves the bytes', async (t) => {
    const server = await startS3Server(t);
    if (!server) return;
    const bucket = `redirect-${randomBytes(4).toString('hex')}`;
    await server.createBucket(bucket);
    const reg = await startRegistry(t, { config: s3Config(server, bucket, { redirect: { disable: false } }) });
    const client = new OciClient(reg.url);
    const name = uniqueName('redir');
    const blob = makeBlob(randomBytes(100_000));
    assert.equal((await client.pushBlobMonolithic(name, blob)).status, 201);
    const res = await client.getBlob(name, blob.digest);
    assert.equal(res.status, 307, show(res));
    const target = res.headers.get('location')!;
    assert.ok(target.startsWith(server.endpoint), target);
    const fetched = Buffer.from(await (await fetch(target)).arrayBuffer());
    assert.equal(sha256(fetched), blob.digest);
    assert.equal((await client.getBlob(name, sha256('nope'))).status, 404, 'an unknown blob is not redirected');
  });
});
