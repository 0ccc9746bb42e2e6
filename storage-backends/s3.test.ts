import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
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

  it('a chunked upload stays one open multipart upload: no copies, exact bytes, seen by another replica, committed once', async (t) => {
    if (skipIfUnavailable(t)) return;
    const root = `/suite/${randomBytes(6).toString('hex')}/`;
    const b = backend({ rootdirectory: root, chunksize: 5 * 1024 * 1024 });
    const replica = backend({ rootdirectory: root, chunksize: 5 * 1024 * 1024 });
    const sent: string[] = [];
    for (const client of [b.client, replica.client]) {
      client.middlewareStack.add((next, context) => async (args) => {
        sent.push(context.commandName ?? '?');
        return next(args);
      }, { step: 'initialize', name: 'countCommands' });
    }
    const pieces = [randomBytes(6 * 1024 * 1024), randomBytes(100_000), randomBytes(7 * 1024 * 1024), randomBytes(5 * 1024 * 1024 + 1), randomBytes(3)];
    let total = 0;
    for (const [i, piece] of pieces.entries()) {
      const w = await (i === 3 ? replica : b).writer('up/data', { append: i > 0 });
      assert.equal(w.size, total, `writer ${i} continues at the bytes so far`);
      for (let o = 0; o < piece.length; o += 65536) await w.write(piece.subarray(o, o + 65536));
      await w.close();
      total += piece.length;
      assert.equal((await b.stat('up/data')).size, total);
      assert.equal((await replica.stat('up/data')).size, total);
    }
    assert.deepEqual(await b.list('up'), ['up/data'], 'the open upload lists as its file, its record and tail do not');
    const walked = [];
    for await (const f of b.walk('up')) walked.push([f.path, f.size]);
    assert.deepEqual(walked, [['up/data', total]]);
    await assert.rejects(b.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `${root.slice(1)}up/data` })), 'no object before the commit');
    const last = await b.writer('up/data', { append: true });
    await last.commit();
    assert.deepEqual(sent.filter((n) => /Copy/.test(n)), [], 'no byte was copied server-side');
    assert.equal(sent.filter((n) => n === 'CompleteMultipartUploadCommand').length, 1);
    assert.deepEqual(await b.getContent('up/data'), Buffer.concat(pieces));
    const keys = await b.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: root.slice(1) }));
    assert.deepEqual((keys.Contents ?? []).map((o) => o.Key), [`${root.slice(1)}up/data`], 'the record and the tails are gone');
    const uploads = await b.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: root.slice(1) }));
    assert.equal(uploads.Uploads?.length ?? 0, 0);
  });

  it('an open upload: reading completes it; deleting its directory aborts it; a plain object wins over a leftover record', async (t) => {
    if (skipIfUnavailable(t)) return;
    const root = `/suite/${randomBytes(6).toString('hex')}/`;
    const b = backend({ rootdirectory: root, chunksize: 5 * 1024 * 1024 });
    const prefix = root.slice(1);
    const openUploads = async () => (await b.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }))).Uploads?.length ?? 0;
    const write = async (path: string, data: Buffer, append = false) => {
      const w = await b.writer(path, { append });
      await w.write(data);
      await w.close();
    };
    const a = randomBytes(6 * 1024 * 1024);
    const tail = randomBytes(1000);
    await write('r/data', a);
    await write('r/data', tail, true);
    assert.equal(await openUploads(), 1);
    assert.deepEqual(await b.getContent('r/data'), Buffer.concat([a, tail]), 'a read completes the upload first');
    assert.equal(await openUploads(), 0);
    const more = randomBytes(10);
    await write('r/data', more, true);
    assert.deepEqual(await b.getContent('r/data'), Buffer.concat([a, tail, more]), 'and it can be continued afterwards');

    await write('d/sub/data', randomBytes(6 * 1024 * 1024));
    await write('d/sub/data', randomBytes(10), true);
    assert.equal(await openUploads(), 1);
    await b.delete('d');
    assert.equal(await openUploads(), 0, 'deleting the directory aborted the upload');
    await assert.rejects(b.stat('d/sub/data'));

    // A process killed after writing the record and before deleting the object it took over.
    await write('w/data', randomBytes(6 * 1024 * 1024));
    const plain = randomBytes(20);
    await b.client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}w/data`, Body: plain }));
    assert.equal((await b.stat('w/data')).size, 20);
    const w = await b.writer('w/data', { append: true });
    assert.equal(w.size, 20);
    assert.equal(await openUploads(), 0, 'the leftover record and its upload are dropped');
    await w.write(Buffer.from('!'));
    await w.commit();
    assert.deepEqual(await b.getContent('w/data'), Buffer.concat([plain, Buffer.from('!')]));
    await assert.rejects(b.writer('bad#name'), /reserved/);
  });

  it('an append to an empty file that grows past a part takes the empty object over', async (t) => {
    if (skipIfUnavailable(t)) return;
    const b = backend({ chunksize: 5 * 1024 * 1024 });
    const created = await b.writer('e/data');
    await created.close();
    assert.equal((await b.stat('e/data')).size, 0);
    const data = randomBytes(6 * 1024 * 1024);
    const w = await b.writer('e/data', { append: true });
    await w.write(data);
    await w.close();
    assert.equal((await b.stat('e/data')).size, data.length, 'the open upload, not the empty object');
    assert.deepEqual(await b.getContent('e/data'), data);
  });

  it('sweepTemporaries aborts multipart uploads no record names and drops stale tails, once old enough; open uploads stay', async (t) => {
    if (skipIfUnavailable(t)) return;
    const root = `/suite/${randomBytes(6).toString('hex')}/`;
    const prefix = root.slice(1);
    const b = backend({ rootdirectory: root, chunksize: 5 * 1024 * 1024 });
    const uploadsNow = async () => ((await b.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }))).Uploads ?? []).map((u) => u.UploadId).sort();
    // A paused upload (kept), and a writer that died after its first part (no record).
    const paused = await b.writer('keep/data');
    await paused.write(randomBytes(5 * 1024 * 1024 + 10));
    await paused.close();
    const dead = await b.writer('dead/data');
    await dead.write(randomBytes(5 * 1024 * 1024));
    await b.client.send(new PutObjectCommand({ Bucket: bucket, Key: `${prefix}keep/data#tail.0000`, Body: 'stale' }));
    const [pausedId] = (await b.client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: `${prefix}keep/` }))).Uploads!.map((u) => u.UploadId);
    assert.equal((await uploadsNow()).length, 2);
    assert.deepEqual(await b.sweepTemporaries(3600_000), [], 'nothing is old enough');
    const expected = (await b.sweepTemporaries(-60_000, { dryRun: true }));
    assert.equal(expected.length, 2, expected.join(' '));
    assert.ok(expected.some((p) => p.startsWith('dead/data#upload.')) && expected.includes('keep/data#tail.0000'), expected.join(' '));
    assert.equal((await uploadsNow()).length, 2, 'the dry run changes nothing');
    assert.deepEqual(await b.sweepTemporaries(-60_000), expected);
    assert.deepEqual(await uploadsNow(), [pausedId]);
    const w = await b.writer('keep/data', { append: true });
    await w.commit();
    assert.equal((await b.stat('keep/data')).size, 5 * 1024 * 1024 + 10, 'the paused upload survived the sweep');
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
