import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { JsonFileLog, readJsonLog, rfc3339Nano, type JsonLogEntry } from './json-log.js';

function tmp(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsd-log-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function all(path: string, maxFile = 1): Promise<JsonLogEntry[]> {
  const out: JsonLogEntry[] = [];
  for await (const e of readJsonLog(path, maxFile)) out.push(e);
  return out;
}

test('RFC 3339 with nanoseconds, trailing zeros trimmed like Go', () => {
  assert.equal(rfc3339Nano(1_700_000_000_123_456_789n), '2023-11-14T22:13:20.123456789Z');
  assert.equal(rfc3339Nano(1_700_000_000_120_000_000n), '2023-11-14T22:13:20.12Z');
  assert.equal(rfc3339Nano(1_700_000_000_000_000_000n), '2023-11-14T22:13:20Z');
});

test('lines split at newlines across chunks, per stream; pending text flushed at close; long lines in 16 KiB pieces', async (t) => {
  const path = join(tmp(t), 'c-json.log');
  const log = new JsonFileLog(path);
  log.write('stdout', Buffer.from('hel'));
  log.write('stderr', Buffer.from('oops\n'));
  log.write('stdout', Buffer.from('lo\nwor'));
  log.write('stdout', Buffer.from('ld\n\nunicode \u00e9\u4e2d\n'));
  log.write('stdout', Buffer.alloc(40 * 1024, 'x'));
  log.write('stdout', Buffer.from('\nend'));
  log.close();
  const entries = await all(path);
  assert.deepEqual(entries.map((e) => [e.stream, e.log.length > 100 ? `${e.log.length}` : e.log]), [
    ['stderr', 'oops\n'],
    ['stdout', 'hello\n'],
    ['stdout', 'world\n'],
    ['stdout', '\n'],
    ['stdout', 'unicode \u00e9\u4e2d\n'],
    ['stdout', '16384'],
    ['stdout', '16384'],
    ['stdout', `${40 * 1024 - 2 * 16384 + 1}`],
    ['stdout', 'end'],
  ]);
  for (const e of entries) assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.match(readFileSync(path, 'utf8'), /^\{"log":"oops\\n","stream":"stderr","time":"/);
});

test('rotation keeps max-file files of at most max-size; max-file 1 truncates', async (t) => {
  const dir = tmp(t);
  const path = join(dir, 'r-json.log');
  const log = new JsonFileLog(path, { maxSize: 1000, maxFile: 3 });
  for (let i = 0; i < 100; i++) log.write('stdout', Buffer.from(`message number ${i}\n`));
  log.close();
  for (const p of [path, `${path}.1`, `${path}.2`]) assert.ok(statSync(p).size <= 1000);
  assert.throws(() => statSync(`${path}.3`));
  const kept = (await all(path, 3)).map((e) => Number(e.log.split(' ')[2]));
  assert.equal(kept.at(-1), 99);
  assert.deepEqual(kept, kept.map((_, i) => kept[0]! + i));
  // Reopening appends, and rotation continues from the current size.
  const again = new JsonFileLog(path, { maxSize: 1000, maxFile: 3 });
  again.write('stderr', Buffer.from('later\n'));
  again.close();
  assert.equal((await all(path, 3)).at(-1)?.log, 'later\n');

  const single = join(dir, 's-json.log');
  const one = new JsonFileLog(single, { maxSize: 500, maxFile: 1 });
  for (let i = 0; i < 50; i++) one.write('stdout', Buffer.from(`m ${i}\n`));
  one.close();
  assert.ok(statSync(single).size <= 500);
  assert.equal((await all(single)).at(-1)?.log, 'm 49\n');
});
