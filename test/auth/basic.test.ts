// auth.htpasswd: every route needs valid Basic credentials; any valid user has full access.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { tempDir } from '../helpers/env.js';
import { assertError, rawAsResp, rawRequest, sharedHooks, show, type Resp } from '../helpers/oci-client.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { assertUnchanged, AuthClient, basic, median, password, snapshot, tinyImage, writeHtpasswd } from './lib.js';

const REALM = 'tsdocker basic test';
const shared = sharedHooks();
const users = { alice: password('alice'), bob: password('bob') };
let reg: RunningRegistry;
let anon: AuthClient;
let alice: AuthClient;

before(async () => {
  const dir = await tempDir(shared.hooks, 'tsd-auth-basic-');
  const htpasswd = join(dir, 'htpasswd');
  await writeHtpasswd(htpasswd, users);
  reg = await startRegistry(shared.hooks, {
    config: { log: { level: 'info' }, auth: { htpasswd: { realm: REALM, path: htpasswd } } },
  });
  anon = new AuthClient(reg.url);
  alice = anon.with(basic('alice', users.alice));
});
after(() => shared.cleanup());

function assertBasicChallenge(r: Resp, context: string): void {
  assertError(r, 401, 'UNAUTHORIZED', context);
  assert.equal(r.headers.get('www-authenticate'), `Basic realm="${REALM}",charset="UTF-8"`, `${context}: ${show(r)}`);
}

test('basic: /v2/ answers 401 with a Basic challenge without credentials and 200 with them', async () => {
  assertBasicChallenge(await anon.get('/v2/'), 'GET /v2/ anonymous');
  const ok = await alice.get('/v2/');
  assert.equal(ok.status, 200, show(ok));
  assert.equal(ok.headers.get('docker-distribution-api-version'), 'registry/2.0');
  const bob = await anon.with(basic('bob', users.bob)).get('/v2/');
  assert.equal(bob.status, 200, show(bob));
});

test('basic: every route refuses an anonymous caller and writes nothing', async () => {
  const image = tinyImage();
  await alice.pushImage('basic/present', '1', image);
  const before = await snapshot(reg.rootDirectory);
  const layer = image.blobs[1]!;
  const attempts: Array<[string, () => Promise<Resp>]> = [
    ['GET manifest', () => anon.getManifest('basic/present', '1')],
    ['HEAD manifest', () => anon.request('HEAD', '/v2/basic/present/manifests/1')],
    ['GET blob', () => anon.get(`/v2/basic/present/blobs/${layer.digest}`)],
    ['GET tags', () => anon.get('/v2/basic/present/tags/list')],
    ['GET catalog', () => anon.get('/v2/_catalog')],
    ['GET referrers', () => anon.get(`/v2/basic/present/referrers/${image.manifest.digest}`)],
    ['POST upload', () => anon.startUpload('basic/new')],
    ['POST monolithic', () => anon.pushBlob('basic/new', tinyImage().blobs[0]!)],
    ['PUT manifest', () => anon.putManifest('basic/present', '2', tinyImage().manifest)],
    ['DELETE manifest', () => anon.deleteManifest('basic/present', image.manifest.digest)],
    ['DELETE blob', () => anon.request('DELETE', `/v2/basic/present/blobs/${layer.digest}`)],
  ];
  for (const [what, attempt] of attempts) {
    const r = await attempt();
    if (what.startsWith('HEAD')) {
      assert.equal(r.status, 401, `${what}: ${show(r)}`);
      assert.equal(r.headers.get('www-authenticate'), `Basic realm="${REALM}",charset="UTF-8"`);
    } else {
      assertBasicChallenge(r, what);
    }
  }
  await assertUnchanged(reg.rootDirectory, before, 'anonymous requests');
  const still = await alice.getManifest('basic/present', '1');
  assert.equal(still.status, 200, show(still));
  assert.ok(still.body.equals(image.manifest.bytes));
});

test('basic: a valid user pushes, pulls, lists and deletes (full access)', async () => {
  const image = tinyImage();
  await alice.pushImage('basic/rw', 'v1', image);
  const bob = anon.with(basic('bob', users.bob));
  const m = await bob.getManifest('basic/rw', 'v1');
  assert.equal(m.status, 200, show(m));
  assert.ok(m.body.equals(image.manifest.bytes));
  const blob = await bob.get(`/v2/basic/rw/blobs/${image.blobs[1]!.digest}`);
  assert.equal(blob.status, 200, show(blob));
  assert.ok(blob.body.equals(image.blobs[1]!.data));
  const cat = await bob.get('/v2/_catalog');
  assert.equal(cat.status, 200, show(cat));
  assert.ok(cat.json().repositories.includes('basic/rw'), show(cat));
  const del = await bob.deleteManifest('basic/rw', image.manifest.digest);
  assert.equal(del.status, 202, show(del));
  assertError(await alice.getManifest('basic/rw', 'v1'), 404, 'MANIFEST_UNKNOWN');
});

test('basic: wrong password, unknown user and malformed headers all get the same 401, and nothing is written', async () => {
  const before = await snapshot(reg.rootDirectory);
  const headers: Record<string, string> = {
    'wrong password': basic('alice', `${users.alice}x`),
    'empty password': basic('alice', ''),
    "another user's password": basic('alice', users.bob),
    'unknown user': basic('mallory', users.alice),
    'user with a colon in the name': basic('alice:x', users.alice),
    'no colon': `Basic ${Buffer.from('alice').toString('base64')}`,
    'not base64': 'Basic !!!not-base64!!!',
    'Bearer instead of Basic': `Bearer ${Buffer.from(`alice:${users.alice}`).toString('base64')}`,
    'empty Basic': 'Basic ',
    'password with a trailing NUL': basic('alice', `${users.alice}\u0000`),
    'case-changed user': basic('Alice', users.alice),
  };
  const reference = await anon.with(headers['wrong password']).get('/v2/');
  for (const [what, header] of Object.entries(headers)) {
    const c = anon.with(header);
    for (const r of [await c.get('/v2/'), await c.getManifest('basic/present', '1'), await c.startUpload('basic/mallory')]) {
      assertBasicChallenge(r, what);
      assert.deepEqual(r.json(), reference.json(), `${what}: body differs from the wrong-password body`);
    }
  }
  await assertUnchanged(reg.rootDirectory, before, 'refused credentials');
});

test('basic: an unknown user costs about as much time as a wrong password (bcrypt runs for both)', async () => {
  const wrong = anon.with(basic('alice', 'definitely-wrong'));
  const unknown = anon.with(basic('nobody-here', 'definitely-wrong'));
  await wrong.get('/v2/');
  await unknown.get('/v2/');
  const times = { wrong: [] as number[], unknown: [] as number[] };
  for (let i = 0; i < 7; i++) {
    for (const [k, c] of [['wrong', wrong], ['unknown', unknown]] as const) {
      const t0 = performance.now();
      const r = await c.get('/v2/');
      times[k].push(performance.now() - t0);
      assert.equal(r.status, 401);
    }
  }
  const w = median(times.wrong);
  const u = median(times.unknown);
  assert.ok(w > 20 && u > 20, `bcrypt should make both slow: wrong ${w.toFixed(1)} ms, unknown ${u.toFixed(1)} ms`);
  assert.ok(Math.max(w, u) / Math.min(w, u) < 3, `wrong password ${w.toFixed(1)} ms vs unknown user ${u.toFixed(1)} ms`);
});

test('basic: with `htpasswd -B` default-cost (5) entries, an unknown user still costs about as much as a wrong password', async (t) => {
  // A user-enumeration oracle otherwise: the comparison for an unknown user must not be much
  // slower (or faster) than one against a real entry of the file.
  const dir = await tempDir(t, 'tsd-auth-cost5-');
  const htpasswd = join(dir, 'htpasswd');
  await writeHtpasswd(htpasswd, { carol: password('carol') }, 5);
  const r5 = await startRegistry(t, { config: { auth: { htpasswd: { realm: REALM, path: htpasswd } } } });
  const c = new AuthClient(r5.url);
  const wrong = c.with(basic('carol', 'definitely-wrong'));
  const unknown = c.with(basic('nobody-here', 'definitely-wrong'));
  await wrong.get('/v2/');
  await unknown.get('/v2/');
  const times = { wrong: [] as number[], unknown: [] as number[] };
  for (let i = 0; i < 7; i++) {
    for (const [k, client] of [['wrong', wrong], ['unknown', unknown]] as const) {
      const t0 = performance.now();
      const r = await client.get('/v2/');
      times[k].push(performance.now() - t0);
      assert.equal(r.status, 401);
    }
  }
  const w = median(times.wrong);
  const u = median(times.unknown);
  assert.ok(Math.max(w, u) / Math.min(w, u) < 3, `cost-5 file: wrong password ${w.toFixed(1)} ms vs unknown user ${u.toFixed(1)} ms`);
});

test('basic: a 64 KiB Authorization header is refused (431 or 401) and the registry stays up', async () => {
  for (const value of [`Basic ${'A'.repeat(64 * 1024)}`, `Basic ${Buffer.from(`alice:${'p'.repeat(48 * 1024)}`).toString('base64')}`]) {
    const r = rawAsResp(await rawRequest({ port: reg.port, method: 'GET', target: '/v2/', headers: { authorization: value }, timeoutMs: 10_000 }));
    assert.ok(r.status === 431 || r.status === 401, `expected 431 or 401: ${r.status}`);
  }
  // Just under node's header limit: reaches the access controller, which refuses it.
  const big = await anon.with(`Basic ${Buffer.from(`alice:${'p'.repeat(10 * 1024)}`).toString('base64')}`).get('/v2/');
  assertBasicChallenge(big, '14 KiB Basic header');
  const ok = await alice.get('/v2/');
  assert.equal(ok.status, 200, show(ok));
});

test('basic: the logs name no password', async () => {
  // Make sure some authenticated and refused traffic has been logged by now.
  await alice.get('/v2/');
  await anon.with(basic('bob', `${users.bob}-wrong`)).get('/v2/');
  await new Promise((r) => setTimeout(r, 300));
  const out = reg.output();
  assert.ok(out.includes('"path":"/v2/"'), `the access log is on at info level:\n${out.slice(0, 500)}`);
  for (const [user, pw] of Object.entries(users)) {
    assert.ok(!out.includes(pw), `the log contains ${user}'s password`);
    assert.ok(!out.includes(Buffer.from(`${user}:${pw}`).toString('base64')), `the log contains ${user}'s Basic credentials`);
  }
});
