import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTsdError } from './errors.js';
import { familiarName, formatImageReference, isRepositoryName, isTag, parseImageReference, parseManifestReference, parseRepositoryName } from './reference.js';

describe('reference grammar', () => {
  it('repository names follow the distribution grammar', () => {
    for (const ok of ['a', 'library/debian', 'a/b/c', 'a.b_c__d-e--f', 'x0/y9', 'a'.repeat(255)]) assert.ok(isRepositoryName(ok), ok);
    for (const bad of ['', 'A', 'a/', '/a', 'a//b', '../x', 'a/../b', 'a/.b', 'a_', '-a', 'a___b', 'a b', 'a%2fb', 'a'.repeat(256), 'a/./b', 'a\0b']) {
      assert.ok(!isRepositoryName(bad), bad);
      assert.throws(() => parseRepositoryName(bad), (e) => isTsdError(e, 'NAME_INVALID'));
    }
  });

  it('tags follow the grammar', () => {
    for (const ok of ['latest', 'v1.0', '_x', 'A-b.c_d', 'a'.repeat(128)]) assert.ok(isTag(ok), ok);
    for (const bad of ['', '.x', '-x', 'a'.repeat(129), 'a/b', 'a:b', 'a b']) assert.ok(!isTag(bad), bad);
  });

  it('manifest references are a digest or a tag', () => {
    assert.deepEqual(parseManifestReference('v1'), { kind: 'tag', tag: 'v1' });
    assert.equal(parseManifestReference(`sha256:${'b'.repeat(64)}`).kind, 'digest');
    assert.throws(() => parseManifestReference('sha256:xyz'), (e) => isTsdError(e, 'DIGEST_INVALID'));
    assert.throws(() => parseManifestReference('.bad'), (e) => isTsdError(e, 'TAG_INVALID'));
  });

  it('normalises image references as docker does', () => {
    const cases: Array<[string, string]> = [
      ['debian', 'docker.io/library/debian:latest'],
      ['debian:12', 'docker.io/library/debian:12'],
      ['user/app', 'docker.io/user/app:latest'],
      ['index.docker.io/library/busybox:1', 'docker.io/library/busybox:1'],
      ['localhost:5000/a/b:c', 'localhost:5000/a/b:c'],
      ['127.0.0.1:5000/x', '127.0.0.1:5000/x:latest'],
      ['localhost/x', 'localhost/x:latest'],
      ['ghcr.io/o/r@sha256:' + 'c'.repeat(64), 'ghcr.io/o/r@sha256:' + 'c'.repeat(64)],
      ['[::1]:5000/x:t', '[::1]:5000/x:t'],
    ];
    for (const [input, want] of cases) assert.equal(formatImageReference(parseImageReference(input)), want, input);
    assert.equal(familiarName(parseImageReference('debian')), 'debian');
    assert.equal(familiarName(parseImageReference('localhost:5000/a')), 'localhost:5000/a');
  });

  it('refuses malformed image references', () => {
    for (const bad of ['', 'UPPER', 'a:b:c:d', 'x@sha256:zz', 'host:99999999999/a:b:', 'a/../b']) {
      assert.throws(() => parseImageReference(bad), (e) => isTsdError(e, 'INVALID_ARGUMENT'), bad);
    }
  });
});
