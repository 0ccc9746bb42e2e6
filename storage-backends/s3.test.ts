import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { startS3Server, type S3Server } from '../test/helpers/s3-server.js';
import { S3Backend } from './s3.js';
import { backendSuite } from './suite.js';

// One throwaway radosgw for the file; each test gets its own rootdirectory in one bucket.
const hooks: Array<() => unknown> = [];
let server: S3Server | undefined;
const bucket = 'backend-suite';
let skipReason: string | undefined;

before(async () => {
  // startS3Server wants a test context for cleanup and for a visible skip; a file-level hook stands in.
  const context = { after: (fn: () => unknown) => hooks.push(fn), skip: (why: string) => (skipReason = why) };
  server = await startS3Server(context as unknown as TestContext);
  if (server) await server.createBucket(bucket);
}, { timeout: 180_000 });
after(async () => {
  for (const fn of hooks.reverse()) await fn();
});

function backend(options: Partial<ConstructorParameters<typeof S3Backend>[0]> = {}): S3Backend {
  if (!server) throw new Error(skipReason ?? 'no S3 server');
  return new S3Backend({
    bucket,
    regionendpoint: server.endpoint,
    region: server.region,
    accesskey: server.accessKey,
    secretkey: server.secretKey,
    forcepathstyle: true,
    rootdirectory: `/suite/${randomBytes(6).toString('hex')}/`,
    ...options,
  });
}

backendSuite('s3 (radosgw)', async () => ({ backend: backend() }), () => skipReason);

describe('S3 backend specifics', () => {
  const skipIfUnavailable = (t: TestContext) => (skipReason === undefined ? false : (t.skip(skipReason), true));
  it('re-parts small appended writes into parts of at least 5 MiB, and keeps every byte', async (t) => {
    if (skipIfUnavailable(t)) return;
    const b = backend({ chunksize: 5 * 1024 * 1024 });
    const pieces = [randomBytes(1_000_000), randomBytes(3_000_000), randomBytes(2_500_000), randomBytes(6_000_000), randomBytes(10)];
    for (const [i, piece] of pieces.entries()) {
      const w = await b.writer('up/data', { append: i > 0 });
      // Write in socket-sized chunks, as a request body arrives.
      for (let o = 0; o < piece.length; o += 65536) await w.write(piece.subarray(o, o + 65536));
      await w.close();
      assert.equal((await b.stat('up/data')).size, pieces.slice(0, i + 1).reduce((n, p) => n + p.length, 0));
    }
    assert.deepEqual(await b.getContent('up/data'), Buffer.concat(pieces));
    const uploads = await b.client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    assert.equal(uploads.Uploads?.length ?? 0, 0, 'no multipart upload is left open');
  });

  it('moves large objects with a multipart server-side copy', async (t) => {
    if (skipIfUnavailable(t)) return;
    const b = backend({ multipartcopythresholdsize: 5 * 1024 * 1024, multipartcopychunksize: 5 * 1024 * 1024 });
    const data = randomBytes(12 * 1024 * 1024 + 3);
    await b.putContent('big/src', data);
    await b.move('big/src', 'big/dst');
    assert.deepEqual(await b.getContent('big/dst'), data);
    await assert.rejects(b.stat('big/src'));
  });

  it('presigns GET URLs when redirects are on', async (t) => {
    if (skipIfUnavailable(t)) return;
    const b = backend({ redirect: true });
    await b.putContent('r/obj', Buffer.from('presigned'));
    const url = await b.redirectURL('r/obj', 'GET');
    assert.ok(url?.startsWith(server!.endpoint), url);
    const res = await fetch(url!);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'presigned');
    assert.equal(await backend().redirectURL('r/obj', 'GET'), undefined);
  });
});
