import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { arityError, filtersJSON, pflagSpellings } from './command-kit.js';
import { defaultDaemonHost, parseDaemonHost, resolveDaemonHost } from './daemon-host.js';
import { queryString, refSegment } from './engine-api.js';
import { authConfigFor, decodeAuthConfig, encodeAuthConfig } from './registry-auth.js';

test('daemon hosts: unix and tcp as docker writes them; -H, then DOCKER_HOST, then tsdockerd\'s socket', () => {
  assert.deepEqual(parseDaemonHost('unix:///run/x.sock'), { kind: 'unix', socketPath: '/run/x.sock', text: 'unix:///run/x.sock' });
  assert.deepEqual(parseDaemonHost('tcp://127.0.0.1:2376'), { kind: 'tcp', hostname: '127.0.0.1', port: 2376, text: 'tcp://127.0.0.1:2376' });
  assert.deepEqual(parseDaemonHost('tcp://[::1]:1'), { kind: 'tcp', hostname: '::1', port: 1, text: 'tcp://[::1]:1' });
  assert.deepEqual(parseDaemonHost('tcp://localhost'), { kind: 'tcp', hostname: 'localhost', port: 2375, text: 'tcp://localhost:2375' });
  for (const bad of ['ftp://x', 'unix://relative', '/var/run/x.sock', 'tcp://h:99999', '']) assert.throws(() => parseDaemonHost(bad), /invalid bind address/);
  assert.equal(resolveDaemonHost(undefined, {}).text, defaultDaemonHost);
  assert.equal(resolveDaemonHost(undefined, { DOCKER_HOST: 'tcp://10.0.0.1:1' }).text, 'tcp://10.0.0.1:1');
  assert.equal(resolveDaemonHost('unix:///a', { DOCKER_HOST: 'tcp://10.0.0.1:1' }).text, 'unix:///a');
});

test('query strings and path segments as docker\'s client writes them', () => {
  assert.equal(queryString({ all: true, quiet: false, tag: undefined, names: ['a:1', 'b'], filters: '{"x":{"y":true}}' }), '?all=1&quiet=0&names=a%3A1&names=b&filters=%7B%22x%22%3A%7B%22y%22%3Atrue%7D%7D');
  assert.equal(queryString({}), '');
  assert.equal(refSegment('127.0.0.1:5000/a/b@sha256:00'), '127.0.0.1:5000/a/b@sha256:00');
  assert.equal(refSegment('a b?#'), 'a%20b%3F%23');
  assert.equal(filtersJSON(['reference=a*', 'dangling=true', 'reference=b']), '{"reference":{"a*":true,"b":true},"dangling":{"true":true}}');
  assert.equal(filtersJSON([]), undefined);
});

test('X-Registry-Auth: base64url JSON with padding; {} without credentials', () => {
  assert.equal(encodeAuthConfig(authConfigFor('127.0.0.1:5000', undefined)), 'e30=');
  const withPassword = authConfigFor('127.0.0.1:5000', { username: 'al?ce', password: 'p>w' });
  assert.deepEqual(withPassword, { username: 'al?ce', password: 'p>w', serveraddress: '127.0.0.1:5000' });
  const encoded = encodeAuthConfig(withPassword);
  assert.doesNotMatch(encoded, /[+/]/);
  assert.equal(encoded.length % 4, 0, 'padded');
  assert.deepEqual(decodeAuthConfig(encoded), withPassword);
  assert.deepEqual(authConfigFor('docker.io', { username: 'u', password: 'ignored', identityToken: 'tok' }), { username: 'u', serveraddress: 'https://index.docker.io/v1/', identitytoken: 'tok' });
});

test('pflag spellings: --flag=false, -f=value; argument counts in docker\'s words', () => {
  const cmd = new Command('x').option('-H, --human', 'h', true).option('--no-human').option('-q, --quiet').option('-o, --output <file>');
  assert.deepEqual(pflagSpellings(['-H=false', '--human=true', '-q=false', '--quiet=1', '-o=f.tar', '--', '-H=false'], cmd.options), ['--no-human', '--human', '--quiet', '--output', 'f.tar', '--', '-H=false']);
  assert.deepEqual(pflagSpellings(['--quiet=maybe', '--other=false'], cmd.options), ['--quiet=maybe', '--other=false']);
  assert.equal(arityError('tsdocker tag', 'A B', { exactly: 2 }, 2), undefined);
  assert.equal(arityError('tsdocker tag', 'A B', { exactly: 2 }, 1)?.message, "tsdocker: 'tsdocker tag' requires 2 arguments\n\nUsage:  tsdocker tag A B\n\nRun 'tsdocker tag --help' for more information");
  assert.match(arityError('tsdocker rmi', 'X', { min: 1 }, 0)!.message, /requires at least 1 argument\n[\s\S]*\nSee 'tsdocker rmi --help'/);
  assert.match(arityError('tsdocker load', '', { exactly: 0 }, 1)!.message, /^tsdocker: 'tsdocker load' accepts no arguments\n\nUsage:  tsdocker load\n/);
  assert.equal(arityError('tsdocker rmi', 'X', { min: 1 }, 0)!.exitCode, 1);
});
