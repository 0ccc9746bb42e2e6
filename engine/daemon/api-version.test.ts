import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTsdError } from '../../shared/errors.js';
import { apiVersion, compareVersions, splitVersion } from './api-version.js';

test('splitVersion: with and without a /vX.Y prefix', () => {
  assert.deepEqual(splitVersion('/_ping'), { version: apiVersion, path: '/_ping' });
  assert.deepEqual(splitVersion('/v1.41/images/json'), { version: '1.41', path: '/images/json' });
  assert.deepEqual(splitVersion('/v1.24/images/a/b:c/json'), { version: '1.24', path: '/images/a/b:c/json' });
  // A path that only looks like a version is not one.
  assert.deepEqual(splitVersion('/v1.41'), { version: apiVersion, path: '/v1.41' });
  assert.deepEqual(splitVersion('/vx/images/json'), { version: apiVersion, path: '/vx/images/json' });
});

test('splitVersion: versions outside the range are refused with dockerd words', () => {
  assert.throws(() => splitVersion('/v1.99/version'), (e) => isTsdError(e, 'INVALID_ARGUMENT') && e.message === `client version 1.99 is too new. Maximum supported API version is ${apiVersion}`);
  assert.throws(() => splitVersion('/v2.0/version'), /too new/);
  assert.throws(() => splitVersion('/v1.11/version'), (e) => isTsdError(e) && e.message.startsWith('client version 1.11 is too old. Minimum supported API version is 1.12'));
});

test('compareVersions is numeric, not lexical', () => {
  assert.ok(compareVersions('1.9', '1.41') < 0);
  assert.ok(compareVersions('1.41', '1.41.0') === 0);
  assert.ok(compareVersions('1.100', '1.41') > 0);
});
