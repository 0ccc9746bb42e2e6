import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { FilesystemBackend } from '../storage-backends/filesystem.js';
import { MemoryBackend } from '../storage-backends/memory.js';
import { BlobStore } from './blob-store.js';
import { digestOf } from './digest.js';
import { isTsdError } from './errors.js';
import { paths } from './paths.js';

describe('BlobStore', () => {
  it('makes content visible only after commit with the right digest', async () => {
    const store = new BlobStore(new MemoryBackend());
    const data = randomBytes(100_000);
    const w = await store.writer('ingest/1');
    await w.write(data);
    assert.equal(await store.exists(digestOf(data)), false);
    const info = await w.commit({ digest: digestOf(data), size: data.length });
    assert.deepEqual(info, { digest: digestOf(data), size: data.length });
    assert.deepEqual(await buffer(await store.open(info.digest)), data);
    await assert.rejects(store.backend.stat('ingest/1'), (e) => isTsdError(e, 'NOT_FOUND'));
  });

  it('a wrong digest or size publishes nothing and removes the ingest data', async () => {
    const store = new BlobStore(new MemoryBackend());
    const data = randomBytes(1000);
    const wrong = digestOf(Buffer.from('other'));
    const w = await store.writer('ingest/2');
    await w.write(data);
    await assert.rejects(w.commit({ digest: wrong }), (e) => isTsdError(e, 'DIGEST_INVALID'));
    assert.equal(await store.exists(wrong), false);
    assert.equal(await store.exists(digestOf(data)), false);
    await assert.rejects(store.backend.stat('ingest/2'), (e) => isTsdError(e, 'NOT_FOUND'));
    const w2 = await store.writer('ingest/3');
    await w2.write(data);
    await assert.rejects(w2.commit({ digest: digestOf(data), size: 999 }), (e) => isTsdError(e, 'SIZE_INVALID'));
    assert.equal(await store.exists(digestOf(data)), false);
  });

  it('resumes a paused upload, with the hash state kept or lost (a restart)', async () => {
    const backend = new MemoryBackend();
    const a = randomBytes(30_000);
    const b = randomBytes(50_000);
    const whole = Buffer.concat([a, b]);
    const store = new BlobStore(backend);
    const w = await store.writer('ingest/4');
    await w.write(a);
    await w.pause();
    const w2 = await store.writer('ingest/4', { append: true });
    assert.equal(w2.size, a.length);
    await w2.write(b);
    await w2.commit({ digest: digestOf(whole) });

    const w3 = await store.writer('ingest/5');
    await w3.write(a);
    await w3.pause();
    const afterRestart = new BlobStore(backend);
    const w4 = await afterRestart.writer('ingest/5', { append: true });
    await w4.write(b);
    assert.equal((await w4.commit({ digest: digestOf(whole, 'sha512') })).digest, digestOf(whole, 'sha512'));
  });

  it('two writers of the same blob both succeed on the filesystem, leaving one file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsd-bs-'));
    try {
      const store = new BlobStore(new FilesystemBackend(dir));
      const data = randomBytes(2_000_000);
      const results = await Promise.all(
        [1, 2].map(async (i) => {
          const w = await store.writer(`ingest/${i}/data`);
          for (let o = 0; o < data.length; o += 100_000) await w.write(data.subarray(o, o + 100_000));
          return w.commit({ digest: digestOf(data) });
        }),
      );
      assert.equal(results[0]!.digest, results[1]!.digest);
      const blobDir = join(dir, paths.blobDir(digestOf(data)));
      assert.deepEqual(await readdir(blobDir), ['data']);
      assert.deepEqual(await buffer(await store.open(digestOf(data))), data);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('put stores small content under its digest', async () => {
    const store = new BlobStore(new MemoryBackend());
    const info = await store.put(Buffer.from('{"a":1}'));
    assert.equal(info.digest, digestOf('{"a":1}'));
    assert.equal((await store.get(info.digest)).toString(), '{"a":1}');
    await assert.rejects(store.stat(digestOf('missing')), (e) => isTsdError(e, 'BLOB_UNKNOWN'));
  });
});
