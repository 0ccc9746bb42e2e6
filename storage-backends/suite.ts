import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { Writable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { isTsdError } from '../shared/errors.js';
import type { StorageBackend } from './backend.js';

/**
 * The one test suite every StorageBackend runs. `create` gives a fresh, empty backend and a cleanup.
 */
export function backendSuite(
  name: string,
  create: () => Promise<{ backend: StorageBackend; cleanup?: () => Promise<void> }>,
  /** Why the backend cannot run here (a missing server outside CI), to skip visibly. */
  unavailable: () => string | undefined = () => undefined,
): void {
  describe(`StorageBackend: ${name}`, () => {
    const withBackend = (fn: (b: StorageBackend) => Promise<void>) => async (t: TestContext) => {
      const reason = unavailable();
      if (reason !== undefined) {
        t.skip(reason);
        return;
      }
      const { backend, cleanup } = await create();
      try {
        await fn(backend);
      } finally {
        await cleanup?.();
      }
    };
    const assertNotFound = async (p: Promise<unknown>) =>
      assert.ok(await p.then(() => false, (err) => isTsdError(err, 'NOT_FOUND')), 'expected NOT_FOUND');

    it('puts and gets content, replacing it whole', withBackend(async (b) => {
      await b.putContent('a/b/c', Buffer.from('one'));
      assert.equal((await b.getContent('a/b/c')).toString(), 'one');
      await b.putContent('a/b/c', Buffer.from('second'));
      assert.equal((await b.getContent('a/b/c')).toString(), 'second');
      const info = await b.stat('a/b/c');
      assert.equal(info.size, 6);
      assert.equal(info.isDir, false);
      assert.equal((await b.stat('a/b')).isDir, true);
    }));

    it('reports missing paths as NOT_FOUND everywhere', withBackend(async (b) => {
      await assertNotFound(b.getContent('nope'));
      await assertNotFound(b.stat('nope/x'));
      await assertNotFound(b.reader('nope'));
      await assertNotFound(b.list('nope'));
      await assertNotFound(b.move('nope', 'other'));
      await assertNotFound(b.delete('nope'));
    }));

    it('refuses paths that could leave the root', withBackend(async (b) => {
      for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'a//b', 'a/./b', '', 'a/\0b']) {
        await assert.rejects(b.putContent(bad, Buffer.from('x')), (err) => isTsdError(err, 'INVALID_ARGUMENT'), bad);
        await assert.rejects(b.getContent(bad), (err) => isTsdError(err, 'INVALID_ARGUMENT'), bad);
      }
    }));

    it('reads ranges', withBackend(async (b) => {
      const data = randomBytes(300_000);
      await b.putContent('blob', data);
      assert.deepEqual(await buffer(await b.reader('blob')), data);
      assert.deepEqual(await buffer(await b.reader('blob', { offset: 1000 })), data.subarray(1000));
      assert.deepEqual(await buffer(await b.reader('blob', { offset: 10, length: 5 })), data.subarray(10, 15));
      assert.equal((await buffer(await b.reader('blob', { offset: 5, length: 0 }))).length, 0);
    }));

    it('a reader asked for with an aborted signal is refused with an AbortError, not handed out broken', withBackend(async (b) => {
      await b.putContent('blob', randomBytes(1000));
      await assert.rejects(b.reader('blob', { signal: AbortSignal.abort() }), (err) => (err as Error).name === 'AbortError');
      // A reader aborted later fails its reading with the abort.
      const controller = new AbortController();
      const stream = await b.reader('blob', { signal: controller.signal });
      controller.abort();
      await assert.rejects(buffer(stream), (err) => (err as Error).name === 'AbortError');
    }));

    it('copyTo (when offered) writes exactly the bytes and ranges asked for', withBackend(async (b) => {
      if (!b.copyTo) return;
      const data = randomBytes(3 * 1024 * 1024 + 777);
      await b.putContent('copy/src', data);
      const collect = async (options?: { offset?: number; length?: number }) => {
        const chunks: Buffer[] = [];
        const sink = new Writable({
          write(chunk: Buffer, _enc, done) {
            chunks.push(Buffer.from(chunk)); // the backend may reuse its buffers after the callback
            done();
          },
        });
        await b.copyTo!('copy/src', sink, options);
        return Buffer.concat(chunks);
      };
      assert.deepEqual(await collect(), data);
      assert.deepEqual(await collect({ offset: 1_000_000, length: 1_500_000 }), data.subarray(1_000_000, 2_500_000));
      await assert.rejects(b.copyTo('copy/missing', new Writable({ write: (_c, _e, d) => d() })), (err) => isTsdError(err, 'NOT_FOUND'));
    }));

    it('writes in chunks, commits, and appends to continue', withBackend(async (b) => {
      const parts = [randomBytes(70_000), randomBytes(3), randomBytes(2_500_000)];
      const w = await b.writer('up/data');
      await w.write(parts[0]!);
      await w.write(parts[1]!);
      assert.equal(w.size, 70_003);
      await w.close();
      const w2 = await b.writer('up/data', { append: true });
      assert.equal(w2.size, 70_003);
      await w2.write(parts[2]!);
      await w2.commit();
      assert.deepEqual(await b.getContent('up/data'), Buffer.concat(parts));
      assert.equal((await b.stat('up/data')).size, 70_003 + 2_500_000);
    }));

    it('abandon undoes an append and leaves the earlier bytes', withBackend(async (b) => {
      const first = randomBytes(6_000_000);
      const w = await b.writer('ab/data');
      await w.write(first);
      await w.close();
      const w2 = await b.writer('ab/data', { append: true });
      await w2.write(randomBytes(1_500_000));
      await w2.write(randomBytes(5_500_000));
      await w2.abandon();
      assert.equal((await b.stat('ab/data')).size, first.length);
      assert.deepEqual(await b.getContent('ab/data'), first);
    }));

    it('cancel removes what the writer made', withBackend(async (b) => {
      const w = await b.writer('gone/data');
      await w.write(Buffer.from('partial'));
      await w.cancel();
      await assertNotFound(b.getContent('gone/data'));
    }));

    it('lists direct children by full path', withBackend(async (b) => {
      await b.putContent('r/x/1', Buffer.from('1'));
      await b.putContent('r/x/2', Buffer.from('2'));
      await b.putContent('r/y/z/3', Buffer.from('3'));
      assert.deepEqual((await b.list('r')).sort(), ['r/x', 'r/y']);
      assert.deepEqual((await b.list('r/x')).sort(), ['r/x/1', 'r/x/2']);
    }));

    it('walks every file below a path, with sizes', withBackend(async (b) => {
      await b.putContent('w/a/1', Buffer.from('1'));
      await b.putContent('w/a/b/22', Buffer.from('22'));
      await b.putContent('w/c/333', Buffer.from('333'));
      await b.putContent('other/x', Buffer.from('x'));
      const seen: Array<[string, number]> = [];
      for await (const f of b.walk('w')) seen.push([f.path, f.size]);
      assert.deepEqual(seen.sort(), [['w/a/1', 1], ['w/a/b/22', 2], ['w/c/333', 3]]);
      const none: string[] = [];
      for await (const f of b.walk('missing')) none.push(f.path);
      assert.deepEqual(none, []);
    }));

    it('moves, replacing the target, and deletes trees', withBackend(async (b) => {
      await b.putContent('m/src', Buffer.from('new'));
      await b.putContent('m/dst/file', Buffer.from('old'));
      await b.move('m/src', 'm/dst/file');
      assert.equal((await b.getContent('m/dst/file')).toString(), 'new');
      await assertNotFound(b.stat('m/src'));
      await b.move('m/dst/file', 'n/deep/new/place');
      assert.equal((await b.getContent('n/deep/new/place')).toString(), 'new');
      await b.putContent('t/a/1', Buffer.from('1'));
      await b.putContent('t/a/b/2', Buffer.from('2'));
      await b.delete('t/a');
      await assertNotFound(b.stat('t/a/b/2'));
      await assertNotFound(b.list('t/a'));
    }));

    it('concurrent putContent to one path leaves one whole value', withBackend(async (b) => {
      const values = Array.from({ length: 16 }, (_, i) => Buffer.alloc(64 * 1024, i));
      await Promise.all(values.map((v) => b.putContent('race/link', v)));
      const got = await b.getContent('race/link');
      assert.ok(values.some((v) => v.equals(got)), 'content is one of the written values, not a mix');
    }));
  });
}
