import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { FilesystemBackend } from './filesystem.js';
import { backendSuite } from './suite.js';

backendSuite('filesystem', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tsd-fs-'));
  return { backend: new FilesystemBackend(dir), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

it('filesystem putContent leaves no temp files behind', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tsd-fs-'));
  try {
    const b = new FilesystemBackend(dir);
    await Promise.all(Array.from({ length: 8 }, (_, i) => b.putContent('x/link', Buffer.from(String(i)))));
    assert.deepEqual(await readdir(join(dir, 'x')), ['link']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('filesystem: a tag-like name containing ".tmp-" is listed; temporary names are not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tsd-fs-'));
  try {
    const b = new FilesystemBackend(dir);
    await b.putContent('tags/v1.tmp-2/current/link', Buffer.from('x'));
    assert.deepEqual(await b.list('tags'), ['tags/v1.tmp-2']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('filesystem: a new directory appears with its file, and a deleted one leaves no empty shell', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tsd-fs-'));
  try {
    const b = new FilesystemBackend(dir);
    await b.putContent('r/_manifests/tags/t1/current/link', Buffer.from('d'));
    // The new subtree came in by one rename: nothing else is left beside it.
    assert.deepEqual(await readdir(join(dir, 'r/_manifests/tags')), ['t1']);
    await b.delete('r/_manifests/tags/t1');
    assert.deepEqual(await readdir(join(dir, 'r/_manifests/tags')), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it('filesystem: sweepTemporaries removes old staging debris only, and the dry run removes nothing', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tsd-fs-'));
  try {
    const b = new FilesystemBackend(dir);
    await b.putContent('blobs/ab/abcd/data', Buffer.from('kept'));
    const old = new Date(Date.now() - 2 * 3600_000);
    await mkdir(join(dir, 'blobs', '.tmp-0000000000000001', 'cd'), { recursive: true });
    await writeFile(join(dir, 'blobs', '.tmp-0000000000000001', 'cd', 'data'), 'debris');
    await utimes(join(dir, 'blobs', '.tmp-0000000000000001'), old, old);
    await writeFile(join(dir, 'blobs', 'ab', '.tmp-0000000000000002'), 'old temp file');
    await utimes(join(dir, 'blobs', 'ab', '.tmp-0000000000000002'), old, old);
    await writeFile(join(dir, 'blobs', 'ab', '.tmp-0000000000000003'), 'a write in progress');
    const expected = ['blobs/.tmp-0000000000000001', 'blobs/ab/.tmp-0000000000000002'];
    assert.deepEqual(await b.sweepTemporaries(3600_000, { dryRun: true }), expected);
    assert.equal((await readdir(join(dir, 'blobs'))).length, 2);
    assert.deepEqual(await b.sweepTemporaries(3600_000), expected);
    assert.deepEqual((await readdir(join(dir, 'blobs'))).sort(), ['ab']);
    assert.deepEqual((await readdir(join(dir, 'blobs', 'ab'))).sort(), ['.tmp-0000000000000003', 'abcd']);
    assert.equal((await b.getContent('blobs/ab/abcd/data')).toString(), 'kept');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
