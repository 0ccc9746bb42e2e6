// Credentials from docker's config.json (auths, credHelpers, credsStore), login/logout, and the
// small pure pieces: endpoint schemes, WWW-Authenticate parsing, scope sets.
import assert from 'node:assert/strict';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import {
  createRegistryClient,
  dockerConfigCredentials,
  dockerCredentials,
  formatScopes,
  login,
  logout,
  parseChallenges,
  registryBaseURL,
  scopeAtoms,
} from '../../../engine/client/index.js';
import { isTsdError } from '../../../shared/errors.js';
import { tempDir } from '../../helpers/env.js';
import { randomBlob, sharedHooks, uniqueName } from '../../helpers/oci-client.js';
import { startRegistry, type RunningRegistry } from '../../helpers/registry.js';
import { collect, writeHtpasswd } from './servers.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('endpoints, challenges, scopes', () => {
  test('https by default; http only for loopback and configured insecure hosts; Docker Hub', () => {
    assert.equal(registryBaseURL('registry.example.com').href, 'https://registry.example.com/');
    assert.equal(registryBaseURL('registry.example.com:5000').href, 'https://registry.example.com:5000/');
    assert.equal(registryBaseURL('localhost:5000').href, 'http://localhost:5000/');
    assert.equal(registryBaseURL('127.0.0.1:5000').href, 'http://127.0.0.1:5000/');
    assert.equal(registryBaseURL('127.8.9.10').href, 'http://127.8.9.10/');
    assert.equal(registryBaseURL('[::1]:5000').href, 'http://[::1]:5000/');
    assert.equal(registryBaseURL('128.0.0.1:5000').href, 'https://128.0.0.1:5000/');
    assert.equal(registryBaseURL('10.0.0.5:5000', { insecure: ['10.0.0.5:5000'] }).href, 'http://10.0.0.5:5000/');
    assert.equal(registryBaseURL('127.0.0.1:5000', { scheme: 'https' }).href, 'https://127.0.0.1:5000/');
    for (const hub of ['docker.io', 'index.docker.io', 'registry-1.docker.io']) assert.equal(registryBaseURL(hub).href, 'https://registry-1.docker.io/');
    for (const bad of ['user@host', 'host/path', 'host:port', 'a b', '']) {
      assert.throws(() => registryBaseURL(bad), (err: unknown) => isTsdError(err, 'INVALID_ARGUMENT'), bad);
    }
  });

  test('WWW-Authenticate: several challenges, quoted commas, case', () => {
    const c = parseChallenges('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull,push", Basic realm="x"');
    assert.deepEqual(c, [
      { scheme: 'bearer', params: { realm: 'https://auth.example.com/token', service: 'registry.example.com', scope: 'repository:a/b:pull,push' } },
      { scheme: 'basic', params: { realm: 'x' } },
    ]);
    assert.deepEqual(parseChallenges('BASIC Realm=plain, charset="UTF-8"'), [{ scheme: 'basic', params: { realm: 'plain', charset: 'UTF-8' } }]);
    assert.deepEqual(parseChallenges(undefined), []);
  });

  test('scopes split into atoms and join back per resource', () => {
    const atoms = scopeAtoms(['repository:a/b:pull,push', 'repository:c:pull repository:a/b:delete']);
    assert.deepEqual([...atoms].sort(), ['repository:a/b:delete', 'repository:a/b:pull', 'repository:a/b:push', 'repository:c:pull']);
    assert.deepEqual(formatScopes(atoms), ['repository:a/b:delete,pull,push', 'repository:c:pull']);
  });
});

describe('docker config credentials', () => {
  const shared = sharedHooks();
  const password = 'correct-horse';
  let reg: RunningRegistry;
  before(async () => {
    const dir = await tempDir(shared.hooks, 'tsd-client-creds-');
    await writeHtpasswd(join(dir, 'htpasswd'), { alice: password });
    reg = await startRegistry(shared.hooks, { config: { auth: { htpasswd: { realm: 'test', path: join(dir, 'htpasswd') } } } });
  });
  after(() => shared.cleanup());

  async function pushAndPull(env: NodeJS.ProcessEnv): Promise<void> {
    const client = createRegistryClient(reg.host, { credentials: dockerConfigCredentials({ env }) });
    try {
      const repo = `creds/${uniqueName()}`;
      const blob = randomBlob(2000);
      await client.pushBlob(repo, blob.digest, blob.size, () => Readable.from([blob.data]));
      assert.ok((await collect(await client.fetchBlob(repo, blob.digest))).equals(blob.data));
    } finally {
      client.close();
    }
  }

  /** A fake `docker-credential-test` that logs its calls and knows one server. */
  async function fakeHelper(dir: string, server: string): Promise<{ env: NodeJS.ProcessEnv; calls: () => Promise<string[]> }> {
    const log = join(dir, 'helper.log');
    const script = `#!/bin/sh
input=$(cat)
printf '%s %s\\n' "$1" "$input" >> '${log}'
case "$1" in
  get)
    if [ "$input" = '${server}' ]; then
      printf '{"ServerURL":"%s","Username":"alice","Secret":"${password}"}' "$input"
    else
      echo "credentials not found in native keychain"; exit 1
    fi ;;
  store|erase) exit 0 ;;
  *) exit 2 ;;
esac
`;
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'docker-credential-test'), script);
    await chmod(join(bin, 'docker-credential-test'), 0o755);
    return {
      env: { DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` },
      calls: async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean),
    };
  }

  test('auths: base64 user:password under the host key (and Docker Hub under its v1 URL)', async (t) => {
    const dir = await tempDir(t);
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({
        auths: {
          [reg.host]: { auth: b64(`alice:${password}`) },
          'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') },
          'https://other.example.com/v2/': { auth: b64('o:p') },
          'tokens.example.com': { auth: b64('u:'), identitytoken: 'refresh-me' },
        },
      }),
    );
    const env = { DOCKER_CONFIG: dir };
    assert.deepEqual(await dockerCredentials(reg.host, { env }), { username: 'alice', password });
    assert.deepEqual(await dockerCredentials('docker.io', { env }), { username: 'hubuser', password: 'hubpass' });
    assert.deepEqual(await dockerCredentials('other.example.com', { env }), { username: 'o', password: 'p' });
    assert.deepEqual(await dockerCredentials('tokens.example.com', { env }), { username: 'u', identityToken: 'refresh-me' });
    assert.equal(await dockerCredentials('unknown.example.com', { env }), undefined);
    assert.deepEqual(await dockerCredentials(reg.host, { path: join(dir, 'config.json'), env: {} }), { username: 'alice', password });
    await pushAndPull(env);
  });

  test('credHelpers: docker-credential-NAME get, with the server on stdin', async (t) => {
    const dir = await tempDir(t);
    const helper = await fakeHelper(dir, reg.host);
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [reg.host]: {} }, credHelpers: { [reg.host]: 'test' } }));
    assert.deepEqual(await dockerCredentials(reg.host, { env: helper.env }), { username: 'alice', password });
    await pushAndPull(helper.env);
    assert.ok((await helper.calls()).every((c) => c === `get ${reg.host}`));
    // The helper knows nothing of another host: no credentials, no error.
    await writeFile(join(dir, 'config.json'), JSON.stringify({ credHelpers: { 'elsewhere.example.com': 'test' } }));
    assert.equal(await dockerCredentials('elsewhere.example.com', { env: helper.env }), undefined);
    // A helper that is not installed is a clear configuration error.
    await writeFile(join(dir, 'config.json'), JSON.stringify({ credHelpers: { [reg.host]: 'missing' } }));
    await assert.rejects(dockerCredentials(reg.host, { env: helper.env }), (err: unknown) => isTsdError(err, 'CONFIG_INVALID') && /docker-credential-missing/.test(String(err)));
  });

  test('credsStore: one helper for every host', async (t) => {
    const dir = await tempDir(t);
    const helper = await fakeHelper(dir, reg.host);
    await writeFile(join(dir, 'config.json'), JSON.stringify({ credsStore: 'test' }));
    await pushAndPull(helper.env);
    assert.ok((await helper.calls()).includes(`get ${reg.host}`));
  });

  test('login checks the password and writes auths as docker does; logout removes it', async (t) => {
    const dir = await tempDir(t);
    const path = join(dir, 'config.json');
    await writeFile(path, JSON.stringify({ auths: { 'keep.example.com': { auth: b64('k:k') } }, psFormat: 'table' }));
    await assert.rejects(login(reg.host, 'alice', 'wrong', { config: { path } }), (err: unknown) => isTsdError(err, 'UNAUTHORIZED'));
    assert.equal(JSON.parse(await readFile(path, 'utf8')).auths[reg.host], undefined, 'nothing written on failure');

    assert.deepEqual(await login(reg.host, 'alice', password, { config: { path } }), { stored: 'file' });
    const written = JSON.parse(await readFile(path, 'utf8'));
    assert.deepEqual(written.auths[reg.host], { auth: b64(`alice:${password}`) });
    assert.equal(written.psFormat, 'table', 'other settings kept');
    assert.ok(written.auths['keep.example.com']);
    await pushAndPull({ DOCKER_CONFIG: dir });

    assert.equal(await logout(reg.host, { config: { path } }), true);
    assert.equal(JSON.parse(await readFile(path, 'utf8')).auths[reg.host], undefined);
    assert.equal(await logout(reg.host, { config: { path } }), false);
  });

  test('login with a credential helper stores through it', async (t) => {
    const dir = await tempDir(t);
    const helper = await fakeHelper(dir, reg.host);
    await writeFile(join(dir, 'config.json'), JSON.stringify({ credHelpers: { [reg.host]: 'test' } }));
    assert.deepEqual(await login(reg.host, 'alice', password, { config: { env: helper.env } }), { stored: 'helper' });
    const calls = await helper.calls();
    assert.equal(calls.length, 1);
    assert.equal(calls[0], `store ${JSON.stringify({ ServerURL: reg.host, Username: 'alice', Secret: password })}`);
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')).auths[reg.host], {}, 'the file holds no secret');
  });
});
