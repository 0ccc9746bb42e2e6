import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListBucketsCommand,
  PutObjectCommand,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
  type UploadPartCommandOutput,
} from '@aws-sdk/client-s3';
import { s3ClientFor, startS3Server } from './s3-server.js';

const MiB = 1024 * 1024;
const md5 = (b: Uint8Array) => createHash('md5').update(b).digest('hex');

/** Alive means: /proc has it and it is not a zombie (a zombie has exited and waits only for PID 1). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

test('s3-server harness: a real radosgw for tests', async (t) => {
  const s3 = await startS3Server(t);
  if (!s3) return;
  t.diagnostic(`cluster start: ${s3.startMs} ms`);
  assert.match(s3.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(s3.region, 'us-east-1');
  assert.equal(s3.pids.length, 3, 'mon, osd and radosgw wrote their PIDs');
  for (const pid of s3.pids) assert.ok(alive(pid), `daemon ${pid} runs`);

  const { client } = s3;
  const Bucket = 'harness';
  await s3.createBucket(Bucket);

  await t.test('the JS SDK ignores AWS_CA_BUNDLE', async () => {
    const saved = process.env.AWS_CA_BUNDLE;
    process.env.AWS_CA_BUNDLE = '/nonexistent/ca-bundle.pem';
    try {
      const other = s3ClientFor(s3);
      try {
        const out = await other.send(new ListBucketsCommand({}));
        assert.deepEqual(out.Buckets?.map((b) => b.Name), [Bucket]);
      } finally {
        other.destroy();
      }
    } finally {
      if (saved === undefined) delete process.env.AWS_CA_BUNDLE;
      else process.env.AWS_CA_BUNDLE = saved;
    }
  });

  await t.test('PutObject / GetObject round trip', async () => {
    const body = randomBytes(100_000);
    const put = await client.send(new PutObjectCommand({ Bucket, Key: 'dir/small', Body: body, ContentLength: body.length }));
    assert.equal(put.ETag, `"${md5(body)}"`);
    const got = await client.send(new GetObjectCommand({ Bucket, Key: 'dir/small' }));
    assert.equal(got.ContentLength, body.length);
    assert.deepEqual(Buffer.from(await got.Body!.transformToByteArray()), body);
  });

  const part1 = randomBytes(5 * MiB);
  const part2 = randomBytes(5 * MiB);
  const whole = Buffer.concat([part1, part2]);

  await t.test('multipart upload of two 5 MiB parts, ranged GETs', async () => {
    const Key = 'multi';
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    assert.ok(UploadId);
    const parts: CompletedPart[] = [];
    for (const [i, data] of [part1, part2].entries()) {
      const out: UploadPartCommandOutput = await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: i + 1, Body: data, ContentLength: data.length }));
      assert.equal(out.ETag, `"${md5(data)}"`);
      parts.push({ PartNumber: i + 1, ETag: out.ETag });
    }
    await client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
    // (RGW's CompleteMultipartUpload answers an empty ETag; HeadObject has the multipart one.)
    const head = await client.send(new HeadObjectCommand({ Bucket, Key }));
    assert.equal(head.ContentLength, 10 * MiB);
    assert.match(head.ETag ?? '', /^"[0-9a-f]{32}-2"$/);

    const full = await client.send(new GetObjectCommand({ Bucket, Key }));
    assert.ok(whole.equals(Buffer.from(await full.Body!.transformToByteArray())), 'whole object');

    // Across the part boundary.
    const from = 5 * MiB - 1000;
    const to = 5 * MiB + 999;
    const ranged = await client.send(new GetObjectCommand({ Bucket, Key, Range: `bytes=${from}-${to}` }));
    assert.equal(ranged.ContentRange, `bytes ${from}-${to}/${10 * MiB}`);
    assert.equal(ranged.ContentLength, 2000);
    assert.deepEqual(Buffer.from(await ranged.Body!.transformToByteArray()), whole.subarray(from, to + 1));
    // A suffix range.
    const tail = await client.send(new GetObjectCommand({ Bucket, Key, Range: 'bytes=-100' }));
    assert.deepEqual(Buffer.from(await tail.Body!.transformToByteArray()), whole.subarray(whole.length - 100));
  });

  await t.test('UploadPartCopy', async () => {
    const Key = 'copied';
    const extra = randomBytes(1234);
    const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    // Part 1: a server-side copy of the second half of 'multi'; part 2: new bytes.
    const copy = await client.send(
      new UploadPartCopyCommand({ Bucket, Key, UploadId, PartNumber: 1, CopySource: `${Bucket}/multi`, CopySourceRange: `bytes=${5 * MiB}-${10 * MiB - 1}` }),
    );
    // RGW deviation: the ETag in CopyPartResult comes without the quotes AWS puts around it.
    assert.equal(copy.CopyPartResult?.ETag?.replace(/^"|"$/g, ''), md5(part2));
    const up = await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber: 2, Body: extra, ContentLength: extra.length }));
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket,
        Key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: copy.CopyPartResult!.ETag }, { PartNumber: 2, ETag: up.ETag }] },
      }),
    );
    const got = await client.send(new GetObjectCommand({ Bucket, Key }));
    assert.ok(Buffer.concat([part2, extra]).equals(Buffer.from(await got.Body!.transformToByteArray())));
  });

  const stopStart = Date.now();
  await s3.stop();
  t.diagnostic(`cluster stop: ${Date.now() - stopStart} ms`);
  for (const pid of s3.pids) assert.equal(alive(pid), false, `daemon ${pid} is gone after stop()`);
  assert.equal(existsSync(s3.dir), false, 'cluster directory removed');
  await s3.stop(); // idempotent
});
