import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatImageReference } from '../../../shared/reference.js';
import { pullTarget } from './images-transfer.js';
import { tagTarget } from './images-write.js';

const digest = `sha256:${'a'.repeat(64)}`;

test('pullTarget: fromImage + tag as the docker CLI sends them', () => {
  const one = (from: string, tag: string) => {
    const t = pullTarget(from, tag);
    return { ref: formatImageReference(t.ref), allTags: t.allTags };
  };
  assert.deepEqual(one('debian', 'latest'), { ref: 'docker.io/library/debian:latest', allTags: false });
  assert.deepEqual(one('127.0.0.1:5000/team/app', 'v1'), { ref: '127.0.0.1:5000/team/app:v1', allTags: false });
  assert.deepEqual(one('127.0.0.1:5000/team/app', digest), { ref: `127.0.0.1:5000/team/app@${digest}`, allTags: false });
  assert.deepEqual(one('127.0.0.1:5000/team/app:v3', ''), { ref: '127.0.0.1:5000/team/app:v3', allTags: false });
  assert.deepEqual(one('127.0.0.1:5000/team/app', ''), { ref: '127.0.0.1:5000/team/app', allTags: true });
  assert.throws(() => pullTarget('BAD..ref', 'latest'), /invalid reference format/);
  assert.throws(() => pullTarget('app', 'bad tag!'), /invalid reference format/);
});

test('tagTarget: repo + tag as dockerd TagImage', () => {
  assert.equal(tagTarget('app', ''), 'docker.io/library/app:latest');
  assert.equal(tagTarget('app', 'v1'), 'docker.io/library/app:v1');
  assert.equal(tagTarget('127.0.0.1:5000/a/b:old', 'new'), '127.0.0.1:5000/a/b:new');
  assert.equal(tagTarget('127.0.0.1:5000/a/b:keep', ''), '127.0.0.1:5000/a/b:keep');
  assert.throws(() => tagTarget('', 'x'), /at least one component/);
  assert.throws(() => tagTarget(`app@${digest}`, ''), /refusing to create a tag with a digest reference/);
  assert.throws(() => tagTarget('Upper', ''), /invalid reference format/);
});
