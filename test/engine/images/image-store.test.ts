import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Digest } from '../../../shared/digest.js';
import { isTsdError } from '../../../shared/errors.js';
import { ImageStore } from '../../../engine/images/index.js';
import { tempDir } from '../../helpers/env.js';
import { blobList, record, sharingImage, storedImage } from './lib.js';

test('tags are normalised as docker does and shown familiar; lookups by ID, prefix, name:tag and name@digest', async (t) => {
  const store = await ImageStore.open(await tempDir(t));
  const img = await storedImage(store);
  const repoDigest = `localhost:5000/team/app@${img.manifest.digest}`;
  const r = await record(store, img, ['debian', 'localhost:5000/team/app:v1'], [repoDigest]);
  assert.equal(r.id, img.config.digest);
  assert.deepEqual(r.repoTags, ['docker.io/library/debian:latest', 'localhost:5000/team/app:v1']);
  for (const ref of ['debian', 'debian:latest', 'library/debian', 'docker.io/library/debian:latest', 'index.docker.io/debian', r.id, r.id.slice(7), r.id.slice(7, 19), `sha256:${r.id.slice(7, 12)}`, repoDigest]) {
    assert.equal(store.resolve(ref).image.id, r.id, ref);
  }
  assert.equal(store.resolve('debian').via, 'tag');
  assert.equal(store.resolve(repoDigest).via, 'digest');
  assert.equal(store.resolve(r.id.slice(7, 19)).via, 'id');
  assert.throws(() => store.resolve('debian:12'), (e) => isTsdError(e, 'NOT_FOUND'));
  assert.throws(() => store.resolve(r.id.slice(7, 9)), (e) => isTsdError(e, 'NOT_FOUND'), 'prefixes shorter than 4 are not IDs');

  const [summary] = await store.list();
  assert.deepEqual(summary!.RepoTags, ['debian:latest', 'localhost:5000/team/app:v1']);
  assert.deepEqual(summary!.RepoDigests, [repoDigest]);
  assert.equal(summary!.Id, r.id);
  assert.equal(summary!.Created, Date.parse('2024-01-01T00:00:00Z') / 1000);
  assert.equal(summary!.Size, img.layers.reduce((n, l) => n + l.size, 0));

  const inspect = await store.inspect('debian');
  assert.equal(inspect.Id, r.id);
  assert.deepEqual(inspect.RootFS, { Type: 'layers', Layers: img.layers.map((l) => l.diffId) });
  assert.equal(inspect.Os, 'linux');
  assert.deepEqual((inspect.Config as { Cmd: string[] }).Cmd, ['/bin/sh']);
  assert.equal(inspect.Created, '2024-01-01T00:00:00Z');

  const history = await store.history('debian');
  assert.equal(history.length, 2);
  assert.equal(history[0]!.Id, r.id);
  assert.deepEqual(history[0]!.Tags, ['debian:latest', 'localhost:5000/team/app:v1']);
  assert.equal(history[0]!.CreatedBy, 'tsdocker test layer 1');
  assert.equal(history[1]!.Id, '<missing>');
  assert.equal(history[1]!.Size, img.layers[0]!.size);

  // Persisted: a reopened store sees the same records.
  const again = await ImageStore.open(store.dataRoot);
  assert.deepEqual(again.all(), store.all());
  const doc = JSON.parse(await readFile(join(store.dataRoot, 'images', 'images.json'), 'utf8'));
  assert.equal(doc.images.length, 1);
});

test('ambiguous ID prefixes are refused; a record needs its blobs', async (t) => {
  const store = await ImageStore.open(await tempDir(t));
  const img = await storedImage(store);
  const r = await record(store, img);
  // Two records whose IDs share a 6-digit prefix (written as a crafted table: random IDs rarely collide).
  const doc = JSON.parse(await readFile(join(store.dataRoot, 'images', 'images.json'), 'utf8'));
  const twin = (hex: string) => ({ ...doc.images[0], id: `sha256:${hex}` });
  doc.images = [twin(`abcdef1${'0'.repeat(57)}`), twin(`abcdef2${'0'.repeat(57)}`)];
  await writeFile(join(store.dataRoot, 'images', 'images.json'), JSON.stringify(doc));
  const crafted = await ImageStore.open(store.dataRoot);
  assert.throws(() => crafted.resolve('abcdef'), (e) => isTsdError(e, 'INVALID_ARGUMENT') && /ambiguous/.test(e.message));
  assert.equal(crafted.resolve('abcdef1').image.id, `sha256:abcdef1${'0'.repeat(57)}`);
  assert.ok(r.id);

  const other = await storedImage(store);
  await store.content.remove(other.layers[1]!.digest as Digest);
  await assert.rejects(record(store, other, ['x']), (e) => isTsdError(e, 'BLOB_UNKNOWN'));
  assert.throws(() => store.resolve('x'), (e) => isTsdError(e, 'NOT_FOUND'));
});

test('tag moves between images; untag; rmi of one of several tags only untags', async (t) => {
  const store = await ImageStore.open(await tempDir(t));
  const a = await record(store, await storedImage(store), ['app:1']);
  const b = await record(store, await storedImage(store), ['app:2']);
  await store.tag('app:1', 'app:latest');
  await store.tag(b.id.slice(7, 15), 'app:latest'); // moves: a keeps app:1 only
  assert.deepEqual(store.get(a.id)!.repoTags, ['docker.io/library/app:1']);
  assert.deepEqual(store.get(b.id)!.repoTags, ['docker.io/library/app:2', 'docker.io/library/app:latest']);
  await assert.rejects(store.tag('app:1', `app@${a.id}`), (e) => isTsdError(e, 'INVALID_ARGUMENT'));
  await assert.rejects(store.tag('nope:1', 'app:x'), (e) => isTsdError(e, 'NOT_FOUND'));

  const items = await store.remove('app:latest');
  assert.deepEqual(items, [{ Untagged: 'app:latest' }]);
  assert.ok(store.get(b.id), 'image stays while it has another tag');
  assert.deepEqual(await store.untag('app:2'), [{ Untagged: 'app:2' }]);
  assert.deepEqual(store.get(b.id)!.repoTags, []);
  assert.ok(store.get(b.id), 'untag never removes the image');
});

test('rmi: last tag removes the image and its unshared blobs; by ID needs force across repositories', async (t) => {
  const store = await ImageStore.open(await tempDir(t));
  const baseImg = await storedImage(store);
  const base = await record(store, baseImg, ['base:1', 'other/repo:1'], [`base@${baseImg.manifest.digest}`]);
  const sharing = await record(store, await sharingImage(store, baseImg, 'x'), ['sharing:1']);
  assert.equal(store.refCount(baseImg.layers[0]!.digest as Digest), 2);
  assert.deepEqual(store.usersOf(baseImg.config.digest as Digest), [base.id]);

  await assert.rejects(store.remove(base.id), (e) => isTsdError(e, 'ALREADY_EXISTS') && /must be forced/.test(e.message));
  const items = await store.remove(base.id.slice(7, 19), { force: true });
  assert.deepEqual(items, [{ Untagged: 'base:1' }, { Untagged: 'other/repo:1' }, { Untagged: `base@${baseImg.manifest.digest}` }, { Deleted: base.id }]);
  assert.equal(store.get(base.id), undefined);
  // Its own blobs are gone; the layers the other image uses stay.
  assert.equal(await store.content.has(baseImg.config.digest as Digest), false);
  assert.equal(await store.content.has(baseImg.manifest.digest as Digest), false);
  for (const l of baseImg.layers) assert.equal(await store.content.has(l.digest as Digest), true);

  // One tag only: rmi by name removes it all.
  assert.deepEqual(await store.remove('sharing:1'), [{ Untagged: 'sharing:1' }, { Deleted: sharing.id }]);
  assert.deepEqual(await blobList(store), []);
  assert.deepEqual(await store.unreferencedBlobs(), []);
});

test('rmi by name: removing the last tag of a repository drops its repo digests too (docker)', async (t) => {
  const store = await ImageStore.open(await tempDir(t));
  const img = await storedImage(store);
  const r = await record(store, img, ['app:1'], [`app@${img.manifest.digest}`]);
  const items = await store.remove('app:1');
  assert.deepEqual(items, [{ Untagged: 'app:1' }, { Untagged: `app@${img.manifest.digest}` }, { Deleted: r.id }]);
});

test('in-use images are not removed unless forced; prune removes only dangling ones', async (t) => {
  const used = new Set<string>();
  const store = await ImageStore.open(await tempDir(t), { inUse: (id) => used.has(id) });
  const a = await record(store, await storedImage(store), ['a:1']);
  const dangling = await record(store, await storedImage(store));
  const danglingUsed = await record(store, await storedImage(store));
  const digestOnlyImg = await storedImage(store);
  const digestOnly = await record(store, digestOnlyImg, [], [`d@${digestOnlyImg.manifest.digest}`]);
  used.add(danglingUsed.id);
  used.add(a.id);
  await assert.rejects(store.remove(a.id), (e) => isTsdError(e, 'ALREADY_EXISTS'));
  const listed = await store.list({ dangling: true });
  assert.deepEqual(listed.map((s) => s.Id).sort(), [dangling.id, danglingUsed.id].sort());
  const pruned = await store.prune();
  assert.deepEqual(pruned.ImagesDeleted, [{ Deleted: dangling.id }]);
  assert.ok(pruned.SpaceReclaimed > 0);
  assert.deepEqual(store.all().map((r) => r.id).sort(), [a.id, danglingUsed.id, digestOnly.id].sort());
  used.delete(a.id);
  const all = await store.prune({ all: true });
  assert.equal(all.ImagesDeleted.filter((i) => 'Deleted' in i).length, 2);
  assert.deepEqual(store.all().map((r) => r.id), [danglingUsed.id]);
});

test('concurrent changes are serialised and all persisted', async (t) => {
  const store = await ImageStore.open(await tempDir(t));
  const img = await record(store, await storedImage(store));
  await Promise.all(Array.from({ length: 30 }, (_, i) => store.tag(img.id, `repo${i % 3}:t${i}`)));
  const again = await ImageStore.open(store.dataRoot);
  assert.equal(again.get(img.id)!.repoTags.length, 30);
});
