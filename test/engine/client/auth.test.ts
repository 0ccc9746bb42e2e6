// Authentication against real registries: the built-in token server (Bearer) and htpasswd (Basic).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createRegistryClient, dockerConfigCredentials, login } from '../../../engine/client/index.js';
import { isTsdError, type TsdError } from '../../../shared/errors.js';
import { freePort, tempDir } from '../../helpers/env.js';
import { randomBlob, sharedHooks, uniqueName, type Blob } from '../../helpers/oci-client.js';
import { startRegistry, type RunningRegistry } from '../../helpers/registry.js';
import { collect, tokenAuth, tokensIssued, writeHtpasswd } from './servers.js';

const open = (blob: Blob) => () => Readable.from([blob.data]);
const users = { alice: 'alice-secret', bob: 'bob-secret' };

describe('Bearer: the built-in token server', () => {
  const shared = sharedHooks();
  let reg: RunningRegistry;
  let realm: string;
  before(async () => {
    const dir = await tempDir(shared.hooks, 'tsd-client-auth-');
    await writeHtpasswd(join(dir, 'htpasswd'), users);
    const port = await freePort();
    realm = `http://127.0.0.1:${port}/token`;
    reg = await startRegistry(shared.hooks, { port, config: { log: { level: 'info' }, auth: tokenAuth(realm, join(dir, 'htpasswd')) } });
  });
  after(() => shared.cleanup());

  test('one token per scope, reused across requests; a push token also covers pulls', async (t) => {
    const client = createRegistryClient(reg.host, { credentials: { username: 'alice', password: users.alice } });
    t.after(() => client.close());
    const repo = `team/${uniqueName()}`;
    const blobs = [randomBlob(1000), randomBlob(2000), randomBlob(300_000)];
    const start = tokensIssued(reg.output());

    // Reads of one repository: one token for repository:R:pull.
    for (const b of blobs) assert.equal(await client.blobExists(repo, b.digest), false);
    assert.equal(tokensIssued(reg.output()) - start, 1);
    assert.equal(client.auth.tokenRequests, 1);

    // Pushes need pull,push: one more token, then it serves every push and every read.
    for (const b of blobs) assert.equal((await client.pushBlob(repo, b.digest, b.size, open(b), { chunkSize: 100_000 })).outcome, 'uploaded');
    for (const b of blobs) assert.ok((await collect(await client.fetchBlob(repo, b.digest))).equals(b.data));
    for (const b of blobs) assert.equal((await client.pushBlob(repo, b.digest, b.size, open(b))).outcome, 'exists');
    assert.equal(tokensIssued(reg.output()) - start, 2);

    // Another repository is another scope.
    const other = `team/${uniqueName()}`;
    await client.pushBlob(other, blobs[0]!.digest, blobs[0]!.size, open(blobs[0]!), { mountFrom: repo });
    assert.equal(await client.blobExists(other, blobs[0]!.digest), true);
    assert.equal(tokensIssued(reg.output()) - start, 3);
    assert.equal(client.auth.tokenRequests, 3);

    // Concurrent requests for a new scope share one token fetch.
    const third = `team/${uniqueName()}`;
    await Promise.all(blobs.map((b) => client.blobExists(third, b.digest)));
    assert.ok(client.auth.tokenRequests <= 4, `${client.auth.tokenRequests} token requests`);
  });

  test('a wrong password is a clear UNAUTHORIZED, for requests and for login', async (t) => {
    const client = createRegistryClient(reg.host, { credentials: { username: 'alice', password: 'not-it' } });
    t.after(() => client.close());
    const blob = randomBlob(100);
    await assert.rejects(client.pushBlob(`team/${uniqueName()}`, blob.digest, blob.size, open(blob)), (err: unknown) => {
      assert.ok(isTsdError(err, 'UNAUTHORIZED'), String(err));
      assert.match((err as TsdError).message, /authentication failed for user "alice"/);
      assert.ok(!(err as TsdError).message.includes('not-it'), 'the password is not in the message');
      return true;
    });
    const dir = await tempDir(t);
    await assert.rejects(login(reg.host, 'alice', 'not-it', { config: { path: join(dir, 'config.json') } }), (err: unknown) => isTsdError(err, 'UNAUTHORIZED'));
  });

  test('a user without push rights gets DENIED; anonymous may pull', async (t) => {
    const alice = createRegistryClient(reg.host, { credentials: { username: 'alice', password: users.alice } });
    const bob = createRegistryClient(reg.host, { credentials: { username: 'bob', password: users.bob } });
    const anonymous = createRegistryClient(reg.host);
    t.after(() => [alice, bob, anonymous].forEach((c) => c.close()));
    const repo = `team/${uniqueName()}`;
    const blob = randomBlob(5000);
    await alice.pushBlob(repo, blob.digest, blob.size, open(blob));
    const small = randomBlob(10);
    await assert.rejects(bob.pushBlob(repo, small.digest, small.size, open(small)), (err: unknown) => {
      assert.ok(isTsdError(err, 'DENIED'), String(err));
      return true;
    });
    assert.ok((await collect(await bob.fetchBlob(repo, blob.digest))).equals(blob.data));
    assert.ok((await collect(await anonymous.fetchBlob(repo, blob.digest))).equals(blob.data));
    assert.deepEqual(await anonymous.ping(), { apiVersion: 'registry/2.0' });
  });

  test('OAuth2: password grant, then a refresh token (docker identitytoken) from config.json', async (t) => {
    const oauth = createRegistryClient(reg.host, { credentials: { username: 'alice', password: users.alice }, oauth2: true });
    t.after(() => oauth.close());
    const repo = `team/${uniqueName()}`;
    const blob = randomBlob(4000);
    assert.equal((await oauth.pushBlob(repo, blob.digest, blob.size, open(blob))).outcome, 'uploaded');

    // A refresh token, as `docker login` against an OAuth2 registry would have stored it.
    const res = await fetch(realm, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'password', username: 'alice', password: users.alice, access_type: 'offline', service: 'tsdocker-test', client_id: 'test' }).toString(),
    });
    const refresh = ((await res.json()) as { refresh_token: string }).refresh_token;
    assert.ok(refresh);
    const dir = await tempDir(t);
    await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from('alice:').toString('base64'), identitytoken: refresh } } }));
    const viaRefresh = createRegistryClient(reg.host, { credentials: dockerConfigCredentials({ env: { DOCKER_CONFIG: dir } }) });
    t.after(() => viaRefresh.close());
    // team/* is alice's alone: this works only if the refresh token stood for her.
    const other = randomBlob(3000);
    assert.equal((await viaRefresh.pushBlob(repo, other.digest, other.size, open(other))).outcome, 'uploaded');
  });
});

describe('Basic: htpasswd', () => {
  const shared = sharedHooks();
  let reg: RunningRegistry;
  before(async () => {
    const dir = await tempDir(shared.hooks, 'tsd-client-basic-');
    await writeHtpasswd(join(dir, 'htpasswd'), users);
    reg = await startRegistry(shared.hooks, { config: { auth: { htpasswd: { realm: 'test', path: join(dir, 'htpasswd') } } } });
  });
  after(() => shared.cleanup());

  test('the Basic challenge is answered with the credentials; wrong or none is UNAUTHORIZED', async (t) => {
    const alice = createRegistryClient(reg.host, { credentials: { username: 'alice', password: users.alice } });
    const wrong = createRegistryClient(reg.host, { credentials: { username: 'alice', password: 'nope' } });
    const none = createRegistryClient(reg.host);
    t.after(() => [alice, wrong, none].forEach((c) => c.close()));
    const repo = `any/${uniqueName()}`;
    const blob = randomBlob(10_000);
    assert.equal((await alice.pushBlob(repo, blob.digest, blob.size, open(blob))).outcome, 'uploaded');
    assert.ok((await collect(await alice.fetchBlob(repo, blob.digest))).equals(blob.data));
    for (const c of [wrong, none]) {
      await assert.rejects(c.blobExists(repo, blob.digest), (err: unknown) => isTsdError(err, 'UNAUTHORIZED'));
      await assert.rejects(c.fetchBlob(repo, blob.digest), (err: unknown) => isTsdError(err, 'UNAUTHORIZED'));
    }
  });
});
