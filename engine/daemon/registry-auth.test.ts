import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isTsdError } from '../../shared/errors.js';
import { credentialsOf, decodeRegistryAuth, registryHostOf } from './registry-auth.js';

const header = (doc: unknown, encoding: BufferEncoding = 'base64url') => Buffer.from(JSON.stringify(doc)).toString(encoding);

test('X-Registry-Auth: base64url and plain base64, padded or not', () => {
  // '?>' style bytes make the two alphabets differ: a password with such characters.
  const doc = { username: 'alice', password: 'p>?>?~~~', serveraddress: '127.0.0.1:5000' };
  const url = header(doc, 'base64url');
  const std = header(doc, 'base64');
  assert.notEqual(url.replace(/=+$/, ''), std.replace(/=+$/, ''), 'the fixture must differ between alphabets');
  for (const h of [url, std, std.replace(/=+$/, ''), `${url}==`.slice(0, url.length + ((4 - (url.length % 4)) % 4))]) {
    assert.deepEqual(decodeRegistryAuth(h), { username: 'alice', password: 'p>?>?~~~' });
  }
});

test('X-Registry-Auth: empty, {} and absent mean no credentials; tokens are kept; auth is split', () => {
  assert.equal(decodeRegistryAuth(undefined), undefined);
  assert.equal(decodeRegistryAuth(''), undefined);
  assert.equal(decodeRegistryAuth(header({})), undefined);
  assert.equal(decodeRegistryAuth(header({ username: '', password: '' })), undefined);
  assert.deepEqual(decodeRegistryAuth(header({ identitytoken: 'refresh' })), { identityToken: 'refresh' });
  assert.deepEqual(decodeRegistryAuth(header({ registrytoken: 'bearer' })), { registryToken: 'bearer' });
  assert.deepEqual(credentialsOf({ auth: Buffer.from('bob:s:e:cret').toString('base64') }), { username: 'bob', password: 's:e:cret' });
});

test('X-Registry-Auth: garbage and wrong types are a 400', () => {
  assert.throws(() => decodeRegistryAuth('%%%not base64'), (e) => isTsdError(e, 'INVALID_ARGUMENT') && /X-Registry-Auth/.test(e.message));
  assert.throws(() => decodeRegistryAuth(header(['a'])), (e) => isTsdError(e, 'INVALID_ARGUMENT'));
  assert.throws(() => decodeRegistryAuth(header({ username: 5 })), /username must be a string/);
});

test('registryHostOf: docker serveraddress forms', () => {
  assert.equal(registryHostOf(undefined), 'docker.io');
  assert.equal(registryHostOf(''), 'docker.io');
  assert.equal(registryHostOf('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(registryHostOf('registry-1.docker.io'), 'docker.io');
  assert.equal(registryHostOf('127.0.0.1:5000'), '127.0.0.1:5000');
  assert.equal(registryHostOf('http://LocalHost:5000/v2/'), 'localhost:5000');
  assert.throws(() => registryHostOf('https:///x'), /invalid server address/);
});
