import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ImageSummary } from '../images/views.js';
import { parseFilters } from './filters.js';
import { filterImages, imageListFilterKeys } from './image-list.js';

function image(id: string, created: number, tags: string[], digests: string[] = [], labels: Record<string, string> = {}): ImageSummary {
  return { Id: id, ParentId: '', RepoTags: tags, RepoDigests: digests, Created: created, Size: 1, SharedSize: -1, VirtualSize: 1, Labels: labels, Containers: -1 };
}

const images = [
  image('sha256:c', 300, ['app:v2', 'registry.local:5000/team/app:v2'], ['registry.local:5000/team/app@sha256:cc'], { tier: 'web' }),
  image('sha256:b', 200, ['app:v1', 'tools/lint:1'], [], { tier: 'tool' }),
  image('sha256:a', 100, []),
  image('sha256:d', 50, [], ['registry.local:5000/team/app@sha256:dd']),
];
const byRef: Record<string, number> = { 'app:v1': 200_000, 'app:v2': 300_000 };
const ctx = {
  createdOf: (r: string) => {
    if (!(r in byRef)) throw new Error(`No such image: ${r}`);
    return byRef[r]!;
  },
  createdById: (id: string) => images.find((i) => i.Id === id)!.Created * 1000,
};
const list = (filters: string) => filterImages(images, parseFilters(filters, imageListFilterKeys), ctx);
const ids = (filters: string) => list(filters).map((i) => i.Id);

test('no filters: every image; untagged ones as <none>', () => {
  const all = list('');
  assert.deepEqual(all.map((i) => i.Id), ['sha256:c', 'sha256:b', 'sha256:a', 'sha256:d']);
  assert.deepEqual(all[2]!.RepoTags, ['<none>:<none>']);
  assert.deepEqual(all[2]!.RepoDigests, ['<none>@<none>']);
  assert.deepEqual(all[3]!.RepoTags, [], 'an image with a digest but no tag keeps its digest');
});

test('dangling: true lists images without tags; false those with a reference', () => {
  assert.deepEqual(ids('{"dangling":{"true":true}}'), ['sha256:a', 'sha256:d']);
  assert.deepEqual(ids('{"dangling":["false"]}'), ['sha256:c', 'sha256:b', 'sha256:d']);
});

test('reference: glob on familiar references or names; only matching references are listed', () => {
  const r = list('{"reference":["app"]}');
  assert.deepEqual(r.map((i) => i.Id), ['sha256:c', 'sha256:b']);
  assert.deepEqual(r[0]!.RepoTags, ['app:v2']);
  assert.deepEqual(r[1]!.RepoTags, ['app:v1']);
  assert.deepEqual(ids('{"reference":["app:v1"]}'), ['sha256:b']);
  assert.deepEqual(ids('{"reference":["*/lint:*"]}'), ['sha256:b']);
  assert.deepEqual(ids('{"reference":["registry.local:5000/*/*"]}'), ['sha256:c', 'sha256:d']);
  assert.deepEqual(ids('{"reference":["nothing*"]}'), []);
});

test('before / since / label', () => {
  assert.deepEqual(ids('{"before":["app:v2"]}'), ['sha256:b', 'sha256:a', 'sha256:d']);
  assert.deepEqual(ids('{"since":["app:v1"]}'), ['sha256:c']);
  assert.deepEqual(ids('{"label":["tier"]}'), ['sha256:c', 'sha256:b']);
  assert.deepEqual(ids('{"label":["tier=tool"]}'), ['sha256:b']);
  assert.throws(() => list('{"before":["missing:1"]}'), /No such image: missing:1/);
});
