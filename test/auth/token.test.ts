// The built-in token server (auth.token without rootcertbundle/jwks): challenge -> token -> access,
// the intersection of requested scopes and access rules, the catalog scope, refresh tokens, and a
// signing key that survives a restart.
import assert from 'node:assert/strict';
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { freePort, tempDir } from '../helpers/env.js';
import { assertError, sharedHooks, show } from '../helpers/oci-client.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import {
  accessOf,
  assertBearerChallenge,
  AuthClient,
  bearer,
  fetchToken,
  mustToken,
  password,
  postToken,
  tinyImage,
  writeHtpasswd,
  type TinyImage,
  SERVICE,
  ISSUER,
  tokenAuthConfig,
} from './lib.js';

const shared = sharedHooks();
const users = { alice: password('alice'), bob: password('bob'), carol: password('carol'), dave: password('dave') };
let reg: RunningRegistry;
let realm: string;
let htpasswd: string;
let anon: AuthClient;
let seeded: TinyImage;

before(async () => {
  const dir = await tempDir(shared.hooks, 'tsd-auth-token-');
  htpasswd = join(dir, 'htpasswd');
  await writeHtpasswd(htpasswd, users);
  const port = await freePort();
  realm = `http://127.0.0.1:${port}/token`;
  reg = await startRegistry(shared.hooks, { port, config: { log: { level: 'info' }, auth: tokenAuthConfig(realm, htpasswd) } });
  anon = new AuthClient(reg.url);
  seeded = tinyImage();
  const t = await mustToken(realm, { service: SERVICE, scopes: ['repository:team/a:pull,push'], user: 'alice', password: users.alice });
  await anon.with(bearer(t)).pushImage('team/a', '1', seeded);
});
after(() => shared.cleanup());

const token = (user: keyof typeof users | undefined, scopes: string[]) =>
  mustToken(realm, { service: SERVICE, scopes, ...(user ? { user, password: users[user] } : {}) });

test('token: the registry challenges with Bearer realm/service/scope; the token it names grants access', async () => {
  // /v2/ needs only a valid token: no scope in the challenge.
  const base = await anon.get('/v2/');
  assertError(base, 401, 'UNAUTHORIZED');
  const c0 = assertBearerChallenge(base, { realm, service: SERVICE, error: null });
  assert.equal(c0.params.scope, undefined);

  const pull = await anon.getManifest('team/a', '1');
  assertError(pull, 401, 'UNAUTHORIZED');
  assertBearerChallenge(pull, { realm, service: SERVICE, scope: 'repository:team/a:pull', error: null });
  const push = await anon.startUpload('team/a');
  assertBearerChallenge(push, { realm, service: SERVICE, scope: 'repository:team/a:pull,push' });
  const del = await anon.deleteManifest('team/a', seeded.manifest.digest);
  assertBearerChallenge(del, { realm, service: SERVICE, scope: 'repository:team/a:delete' });
  const cat = await anon.get('/v2/_catalog');
  assertBearerChallenge(cat, { realm, service: SERVICE, scope: 'registry:catalog:*' });

  // Follow the challenge like a client: realm + service + scope, Basic credentials.
  const c = assertBearerChallenge(pull, { realm, service: SERVICE });
  const r = await fetchToken(c.params.realm!, { service: c.params.service, scopes: [c.params.scope!], user: 'alice', password: users.alice });
  assert.equal(r.status, 200, show(r.resp));
  assert.match(r.resp.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(r.resp.headers.get('cache-control'), 'no-store');
  assert.equal(r.body.token, r.body.access_token, 'token and access_token are the same token');
  assert.equal(r.body.expires_in, 120);
  assert.ok(!Number.isNaN(Date.parse(r.body.issued_at)), `issued_at ${r.body.issued_at}`);
  assert.equal(r.body.refresh_token, undefined, 'no refresh token unless offline_token=true');
  const header = decodeProtectedHeader(r.token!);
  assert.equal(header.alg, 'ES256');
  assert.equal(typeof header.kid, 'string');
  const claims = decodeJwt(r.token!);
  assert.equal(claims.iss, ISSUER);
  assert.equal(claims.aud, SERVICE);
  assert.equal(claims.sub, 'alice');
  assert.equal(claims.exp! - claims.iat!, 120);
  assert.deepEqual(accessOf(r.token!), [{ type: 'repository', name: 'team/a', actions: ['pull'] }]);

  const ok = await anon.with(bearer(r.token!)).getManifest('team/a', '1');
  assert.equal(ok.status, 200, show(ok));
  assert.ok(ok.body.equals(seeded.manifest.bytes));
  const ping = await anon.with(bearer(r.token!)).get('/v2/');
  assert.equal(ping.status, 200, show(ping));
  // A token for some other repository still opens /v2/ (it needs no scope) ...
  const other = await token('bob', ['repository:elsewhere:pull']);
  assert.equal((await anon.with(bearer(other)).get('/v2/')).status, 200);
  // ... and a token request without any scope gives an empty access list that does too.
  const empty = await token('alice', []);
  assert.deepEqual(accessOf(empty), []);
  assert.equal((await anon.with(bearer(empty)).get('/v2/')).status, 200);
  assertError(await anon.with(bearer(empty)).getManifest('team/a', '1'), 401, 'DENIED');
});

test('token: alice pushes to team/*, bob only pulls, anonymous pulls, carol pushes via her group', async () => {
  const cases: Array<{ user: keyof typeof users | undefined; scope: string; granted: string[] }> = [
    { user: 'alice', scope: 'repository:team/a:pull,push,delete', granted: ['delete', 'pull', 'push'] },
    { user: 'alice', scope: 'repository:team/deep/er:push', granted: ['push'] },
    { user: 'alice', scope: 'repository:elsewhere:pull', granted: [] },
    { user: 'alice', scope: 'repository:team:pull', granted: [] }, // "team/*" needs the slash
    { user: 'bob', scope: 'repository:team/a:pull,push', granted: ['pull'] },
    { user: 'bob', scope: 'repository:any/where/at/all:pull,push,delete', granted: ['pull'] },
    { user: undefined, scope: 'repository:team/a:pull,push', granted: ['pull'] },
    { user: 'carol', scope: 'repository:shared/x:pull,push,delete', granted: ['pull', 'push'] },
    { user: 'carol', scope: 'repository:team/a:pull,push', granted: [] },
    // dave is a valid user no rule names: authenticated callers do not inherit anonymous' rules.
    { user: 'dave', scope: 'repository:team/a:pull', granted: [] },
  ];
  for (const c of cases) {
    const t = await token(c.user, [c.scope]);
    const name = c.scope.split(':')[1]!;
    const expected = c.granted.length ? [{ type: 'repository', name, actions: c.granted }] : [];
    assert.deepEqual(accessOf(t), expected, `${c.user ?? 'anonymous'} asking ${c.scope}`);
  }

  // Several scopes in one request, each intersected on its own.
  const multi = await token('alice', ['repository:team/a:pull', 'repository:team/b:push', 'repository:elsewhere:pull', 'registry:catalog:*']);
  assert.deepEqual(accessOf(multi), [
    { type: 'registry', name: 'catalog', actions: ['*'] },
    { type: 'repository', name: 'team/a', actions: ['pull'] },
    { type: 'repository', name: 'team/b', actions: ['push'] },
  ]);

  // And the registry enforces exactly that.
  const alice = anon.with(bearer(await token('alice', ['repository:team/alice:pull,push'])));
  const img = tinyImage();
  await alice.pushImage('team/alice', 'v1', img);

  const bobToken = await token('bob', ['repository:team/alice:pull,push']);
  const bob = anon.with(bearer(bobToken));
  const got = await bob.getManifest('team/alice', 'v1');
  assert.equal(got.status, 200, show(got));
  const refused = await bob.pushBlob('team/alice', tinyImage().blobs[0]!);
  assertError(refused, 401, 'DENIED');
  assertBearerChallenge(refused, { realm, service: SERVICE, scope: 'repository:team/alice:pull,push', error: 'insufficient_scope' });
  assertError(await bob.putManifest('team/alice', 'v2', tinyImage().manifest), 401, 'DENIED');

  const anonPull = anon.with(bearer(await token(undefined, ['repository:team/alice:pull'])));
  assert.equal((await anonPull.getManifest('team/alice', 'v1')).status, 200);

  const carol = anon.with(bearer(await token('carol', ['repository:shared/carol:pull,push'])));
  await carol.pushImage('shared/carol', 'c1', tinyImage());
  const carolOnTeam = anon.with(bearer(await token('carol', ['repository:team/alice:pull,push'])));
  assertError(await carolOnTeam.getManifest('team/alice', 'v1'), 401, 'DENIED');

  // delete is its own action: pull,push does not allow DELETE.
  assertError(await alice.deleteManifest('team/alice', img.manifest.digest), 401, 'DENIED');
  const deleter = anon.with(bearer(await token('alice', ['repository:team/alice:delete'])));
  const del = await deleter.deleteManifest('team/alice', img.manifest.digest);
  assert.equal(del.status, 202, show(del));
});

test('token: the catalog needs registry:catalog:*', async () => {
  const aliceT = await token('alice', ['registry:catalog:*']);
  assert.deepEqual(accessOf(aliceT), [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
  const cat = await anon.with(bearer(aliceT)).get('/v2/_catalog');
  assert.equal(cat.status, 200, show(cat));
  assert.ok(cat.json().repositories.includes('team/a'), show(cat));

  for (const user of ['bob', 'carol', undefined] as const) {
    const t = await token(user, ['registry:catalog:*']);
    assert.deepEqual(accessOf(t), [], `${user ?? 'anonymous'} gets no catalog`);
    const r = await anon.with(bearer(t)).get('/v2/_catalog');
    assertError(r, 401, 'DENIED', `catalog as ${user ?? 'anonymous'}`);
    assertBearerChallenge(r, { realm, service: SERVICE, scope: 'registry:catalog:*', error: 'insufficient_scope' });
  }
  // A repository token is no catalog token.
  const repoToken = await token('alice', ['repository:team/a:pull,push,delete']);
  assertError(await anon.with(bearer(repoToken)).get('/v2/_catalog'), 401, 'DENIED');
});

test('token: POST password and refresh_token grants; refresh tokens are not access tokens', async () => {
  const first = await postToken(realm, {
    grant_type: 'password',
    username: 'alice',
    password: users.alice,
    service: SERVICE,
    client_id: 'tsdocker-test',
    access_type: 'offline',
    scope: 'repository:team/a:pull repository:team/b:pull,push',
  });
  assert.equal(first.status, 200, show(first.resp));
  assert.equal(first.body.token_type, 'Bearer');
  assert.equal(first.body.expires_in, 120);
  assert.equal(typeof first.refreshToken, 'string', `no refresh_token: ${first.resp.text()}`);
  assert.deepEqual(accessOf(first.token!), [
    { type: 'repository', name: 'team/a', actions: ['pull'] },
    { type: 'repository', name: 'team/b', actions: ['pull', 'push'] },
  ]);
  assert.equal((await anon.with(bearer(first.token!)).getManifest('team/a', '1')).status, 200);

  // Without access_type=offline there is no refresh token.
  const online = await postToken(realm, { grant_type: 'password', username: 'alice', password: users.alice, service: SERVICE, scope: 'repository:team/a:pull' });
  assert.equal(online.status, 200, show(online.resp));
  assert.equal(online.refreshToken, undefined);

  // The refresh token buys new access tokens (intersected with the rules as always) ...
  const refreshed = await postToken(realm, { grant_type: 'refresh_token', refresh_token: first.refreshToken!, service: SERVICE, scope: 'repository:team/a:pull,push repository:shared/x:push' });
  assert.equal(refreshed.status, 200, show(refreshed.resp));
  assert.deepEqual(accessOf(refreshed.token!), [{ type: 'repository', name: 'team/a', actions: ['pull', 'push'] }]);
  const pushed = await anon.with(bearer(refreshed.token!)).pushBlob('team/a', tinyImage().blobs[1]!);
  assert.equal(pushed.status, 201, show(pushed));

  // ... but is not an access token itself.
  const asAccess = await anon.with(bearer(first.refreshToken!)).getManifest('team/a', '1');
  assertError(asAccess, 401, 'UNAUTHORIZED');
  assertBearerChallenge(asAccess, { realm, service: SERVICE, error: 'invalid_token' });
  // And an access token is not a refresh token.
  const swapped = await postToken(realm, { grant_type: 'refresh_token', refresh_token: first.token!, service: SERVICE, scope: 'repository:team/a:pull' });
  assertError(swapped.resp, 401, 'UNAUTHORIZED');
  const garbage = await postToken(realm, { grant_type: 'refresh_token', refresh_token: 'not.a.token', service: SERVICE });
  assertError(garbage.resp, 401, 'UNAUTHORIZED');

  // GET with offline_token=true hands one out too (docker login does this).
  const viaGet = await fetchToken(realm, { service: SERVICE, scopes: ['repository:team/a:pull'], user: 'bob', password: users.bob, account: 'bob', offline: true });
  assert.equal(viaGet.status, 200, show(viaGet.resp));
  assert.equal(typeof viaGet.refreshToken, 'string');
  const anonOffline = await fetchToken(realm, { service: SERVICE, scopes: ['repository:team/a:pull'], offline: true });
  assert.equal(anonOffline.status, 200);
  assert.equal(anonOffline.refreshToken, undefined, 'no refresh token for anonymous');

  // Wrong passwords, unknown users and unknown grants.
  assertError((await postToken(realm, { grant_type: 'password', username: 'alice', password: 'nope', service: SERVICE })).resp, 401, 'UNAUTHORIZED');
  assertError((await postToken(realm, { grant_type: 'password', username: 'zed', password: 'nope', service: SERVICE })).resp, 401, 'UNAUTHORIZED');
  const weird = await postToken(realm, { grant_type: 'client_credentials', service: SERVICE });
  assert.ok(weird.status >= 400 && weird.status < 500, show(weird.resp));
  assert.equal(weird.token, undefined);
  // A service the token server does not serve is refused, for GET and POST.
  const otherService = await fetchToken(realm, { service: 'someone-else', scopes: ['repository:team/a:pull'], user: 'alice', password: users.alice });
  assert.ok(otherService.status >= 400 && otherService.status < 500 && otherService.token === undefined, show(otherService.resp));

});

test('token: removing a user from htpasswd ends their refresh token (the file is re-read within seconds)', async () => {
  const viaGet = await fetchToken(realm, { service: SERVICE, scopes: ['repository:team/a:pull'], user: 'bob', password: users.bob, offline: true });
  assert.equal(viaGet.status, 200, show(viaGet.resp));
  const bobRefresh = viaGet.refreshToken!;
  const stillOk = await postToken(realm, { grant_type: 'refresh_token', refresh_token: bobRefresh, service: SERVICE, scope: 'repository:team/a:pull' });
  assert.equal(stillOk.status, 200, show(stillOk.resp));
  const { bob: _gone, ...rest } = users;
  await writeHtpasswd(htpasswd, rest);
  try {
    const deadline = Date.now() + 8000;
    let r = stillOk;
    while (Date.now() < deadline) {
      r = await postToken(realm, { grant_type: 'refresh_token', refresh_token: bobRefresh, service: SERVICE, scope: 'repository:team/a:pull' });
      if (r.status !== 200) break;
      await new Promise((res) => setTimeout(res, 250));
    }
    assert.equal(r.status, 401, `POST /token grant_type=refresh_token for a user removed from htpasswd 8 s ago still answers ${r.status} with an access token`);
    assertError(r.resp, 401, 'UNAUTHORIZED', 'refresh for a removed user');
  } finally {
    await writeHtpasswd(htpasswd, users);
  }
});


test('token: the generated signing key is kept (0600) and a token issued before a restart verifies after it', async (t) => {
  const dir = await tempDir(t, 'tsd-auth-restart-');
  const hp = join(dir, 'htpasswd');
  await writeHtpasswd(hp, { alice: users.alice });
  const port = await freePort();
  const myRealm = `http://127.0.0.1:${port}/token`;
  const rootDirectory = join(dir, 'data');
  const options = { port, rootDirectory, config: { auth: tokenAuthConfig(myRealm, hp) } };
  const first = await startRegistry(t, options);
  const keyPath = join(rootDirectory, 'tsdocker', 'token-signing-key.pem');
  const keyStat = await stat(keyPath);
  assert.equal(keyStat.mode & 0o777, 0o600, `signing key mode ${(keyStat.mode & 0o777).toString(8)}`);
  const tok = await mustToken(myRealm, { service: SERVICE, scopes: ['repository:team/r:pull,push'], user: 'alice', password: users.alice });
  const img = tinyImage();
  await new AuthClient(first.url, bearer(tok)).pushImage('team/r', '1', img);
  await first.stop();

  const second = await startRegistry(t, options);
  const again = await new AuthClient(second.url, bearer(tok)).getManifest('team/r', '1');
  assert.equal(again.status, 200, `a token from before the restart: ${show(again)}`);
  assert.ok(again.body.equals(img.manifest.bytes));
  // Same key id on both sides of the restart.
  const tok2 = await mustToken(myRealm, { service: SERVICE, scopes: ['repository:team/r:pull'], user: 'alice', password: users.alice });
  assert.equal(decodeProtectedHeader(tok2).kid, decodeProtectedHeader(tok).kid);
  await second.stop();

  // A different key at the same path (e.g. rotated): the old token no longer verifies.
  await writeFile(keyPath, '', { flag: 'w' });
  const { generateKeyPair, exportPKCS8 } = await import('jose');
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  await writeFile(keyPath, await exportPKCS8(privateKey), { mode: 0o600 });
  const third = await startRegistry(t, options);
  const rotated = await new AuthClient(third.url, bearer(tok)).getManifest('team/r', '1');
  assertError(rotated, 401, 'UNAUTHORIZED');
  assertBearerChallenge(rotated, { realm: myRealm, service: SERVICE, error: 'invalid_token' });
});
