import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { isTsdError } from './errors.js';
import { VerifyingStream, digestOf, isDigest, parseDigest } from './digest.js';

const sink = () => new Writable({ write: (_c, _e, cb) => cb() });

describe('digest', () => {
  it('accepts sha256 and sha512 and refuses everything else', () => {
    assert.equal(parseDigest(`sha256:${'a'.repeat(64)}`), `sha256:${'a'.repeat(64)}`);
    assert.ok(isDigest(`sha512:${'0'.repeat(128)}`));
    for (const bad of [`sha256:${'a'.repeat(63)}`, `sha256:${'A'.repeat(64)}`, `md5:${'a'.repeat(32)}`, `sha512:${'a'.repeat(64)}`, 'sha256:', '', `sha256:${'a'.repeat(64)}/../x`]) {
      assert.throws(() => parseDigest(bad), (e) => isTsdError(e, 'DIGEST_INVALID'), bad);
    }
  });

  it('hashes like sha256sum', () => {
    const data = randomBytes(1000);
    assert.equal(digestOf(data), `sha256:${createHash('sha256').update(data).digest('hex')}`);
    assert.equal(digestOf(data, 'sha512'), `sha512:${createHash('sha512').update(data).digest('hex')}`);
  });

  it('VerifyingStream passes matching content and reports its digest', async () => {
    const data = randomBytes(200_000);
    const v = new VerifyingStream({ digest: digestOf(data), size: data.length });
    await pipeline(Readable.from([data.subarray(0, 1000), data.subarray(1000)]), v, sink());
    assert.equal(v.digest, digestOf(data));
  });

  it('VerifyingStream fails on a wrong digest, a short body and an overlong body', async () => {
    const data = randomBytes(5000);
    await assert.rejects(pipeline(Readable.from([data]), new VerifyingStream({ digest: digestOf(Buffer.from('x')) }), sink()), (e) => isTsdError(e, 'DIGEST_INVALID'));
    await assert.rejects(pipeline(Readable.from([data]), new VerifyingStream({ size: 6000 }), sink()), (e) => isTsdError(e, 'SIZE_INVALID'));
    await assert.rejects(pipeline(Readable.from([data]), new VerifyingStream({ size: 10 }), sink()), (e) => isTsdError(e, 'SIZE_INVALID'));
  });
});
