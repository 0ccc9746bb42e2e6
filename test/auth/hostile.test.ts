// Hostile tokens and requests against the built-in token server's registry. Every attempt must get
// no access, the spec's error code, and leave the data directory exactly as it was.
import assert from 'node:assert/strict';
import { createPublicKey, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, exportJWK, exportPKCS8, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { freePort, tempDir } from '../helpers/env.js';
import { assertError, rawAsResp, rawRequest, sharedHooks, show, type Resp } from '../helpers/oci-client.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import {
  accessOf,
  assertBearerChallenge,
  assertUnchanged,
  AuthClient,
  basic,
  bearer,
  fetchToken,
  ISSUER,
  libtrustKid,
  median,
  mustToken,
  password,
  postToken,
  SERVICE,
  snapshot,
  tinyImage,
  tokenAuthConfig,
  writeHtpasswd,
  type TinyImage,
} from './lib.js';

/** What jose signs with: a private CryptoKey or KeyObject, or HMAC secret bytes. */
type SigningKey = Parameters<SignJWT['sign']>[0];

const shared = sharedHooks();
const users = { alice: password('alice'), bob: password('bob'), carol: password('carol'), dave: password('dave') };
let reg: RunningRegistry;
let realm: string;
let anon: AuthClient;
let seeded: TinyImage;
/** The registry's real signing key (we chose it), for tokens that are genuine in all but one claim. */
let signingKey: SigningKey;
let signingPkcs8: string;
let kid: string;
let publicPem: string;
let publicJwk: string;
/** Every token and refresh token seen in this file, to search the logs for. */
const secrets = new Set<string>();

before(async () => {
  const dir = await tempDir(shared.hooks, 'tsd-auth-hostile-');
  const htpasswd = join(dir, 'htpasswd');
  await writeHtpasswd(htpasswd, users);
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const keyPath = join(dir, 'signing.pem');
  signingPkcs8 = await exportPKCS8(privateKey);
  await writeFile(keyPath, signingPkcs8, { mode: 0o600 });
  signingKey = privateKey;
  publicPem = await exportSPKI(publicKey);
  publicJwk = JSON.stringify(await exportJWK(publicKey));
  kid = libtrustKid(createPublicKey(publicPem));
  const port = await freePort();
  realm = `http://127.0.0.1:${port}/token`;
  reg = await startRegistry(shared.hooks, {
    port,
    config: { log: { level: 'info' }, auth: tokenAuthConfig(realm, htpasswd, { signingkey: keyPath }) },
  });
  anon = new AuthClient(reg.url);
  seeded = tinyImage();
  const t = await mustToken(realm, { service: SERVICE, scopes: ['repository:team/a:pull,push'], user: 'alice', password: users.alice });
  secrets.add(t);
  await anon.with(bearer(t)).pushImage('team/a', '1', seeded);
  const tb = await mustToken(realm, { service: SERVICE, scopes: ['repository:team/b:pull,push'], user: 'alice', password: users.alice });
  secrets.add(tb);
  await anon.with(bearer(tb)).pushImage('team/b', '1', tinyImage());
});
after(() => shared.cleanup());

async function issued(user: keyof typeof users, scopes: string[]): Promise<string> {
  const t = await mustToken(realm, { service: SERVICE, scopes, user, password: users[user] });
  secrets.add(t);
  return t;
}

const now = () => Math.floor(Date.now() / 1000);

/** A token exactly like the registry's own, with `change` applied to its claims, signed by `key`. */
async function mint(change: (claims: JWTPayload) => JWTPayload = (c) => c, options: { key?: SigningKey; alg?: string; kid?: string } = {}): Promise<string> {
  const claims = change({
    iss: ISSUER,
    sub: 'alice',
    aud: SERVICE,
    iat: now(),
    nbf: now() - 1,
    exp: now() + 120,
    jti: randomBytes(8).toString('hex'),
    access: [{ type: 'repository', name: 'team/a', actions: ['pull', 'push', 'delete'] }],
  });
  const t = await new SignJWT(claims)
    .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: options.kid ?? kid, typ: 'JWT' })
    .sign(options.key ?? signingKey);
  secrets.add(t);
  return t;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

/**
 * Try to read, write and delete team/a with `authorization`; each must be refused with `status`
 * and `code` (and the challenge's `error`), and the data directory must not change.
 */
async function assertNoAccess(what: string, authorization: string, expected: { code: 'UNAUTHORIZED' | 'DENIED'; error: string | null }): Promise<void> {
  const before = await snapshot(reg.rootDirectory);
  const c = anon.with(authorization);
  const attempts: Array<[string, () => Promise<Resp>, string]> = [
    ['GET manifest', () => c.getManifest('team/a', '1'), 'repository:team/a:pull'],
    ['GET blob', () => c.get(`/v2/team/a/blobs/${seeded.blobs[1]!.digest}`), 'repository:team/a:pull'],
    ['GET tags', () => c.get('/v2/team/a/tags/list'), 'repository:team/a:pull'],
    ['POST upload', () => c.startUpload('team/a'), 'repository:team/a:pull,push'],
    ['POST monolithic blob', () => c.pushBlob('team/a', tinyImage().blobs[1]!), 'repository:team/a:pull,push'],
    ['PUT manifest', () => c.putManifest('team/a', 'evil', seeded.manifest), 'repository:team/a:pull,push'],
    ['DELETE manifest', () => c.deleteManifest('team/a', seeded.manifest.digest), 'repository:team/a:delete'],
    ['cross-repo mount into team/a', () => c.request('POST', `/v2/team/a/blobs/uploads/?mount=${seeded.blobs[0]!.digest}&from=team/b`), 'repository:team/a:pull,push'],
  ];
  for (const [name, attempt, scope] of attempts) {
    const r = await attempt();
    assertError(r, 401, expected.code, `${what}: ${name}`);
    assertBearerChallenge(r, { realm, service: SERVICE, scope, error: expected.error });
  }
  await assertUnchanged(reg.rootDirectory, before, what);
}

const invalid = { code: 'UNAUTHORIZED', error: 'invalid_token' } as const;
const insufficient = { code: 'DENIED', error: 'insufficient_scope' } as const;

test('hostile: the control case (a genuine token minted the same way) is accepted', async () => {
  // Proves that the forgeries below fail for the one thing each changes.
  const t = await mint();
  const r = await anon.with(bearer(t)).getManifest('team/a', '1');
  assert.equal(r.status, 200, show(r));
  assert.equal(decodeProtectedHeader(await issued('alice', ['repository:team/a:pull'])).kid, kid, 'the registry signs with the configured key');
});

test('hostile: forged signatures and algorithm confusion get invalid_token', async () => {
  const other = (await generateKeyPair('ES256', { extractable: true })).privateKey;
  await assertNoAccess('signed by another EC key, genuine kid', bearer(await mint(undefined, { key: other })), invalid);
  await assertNoAccess('signed by another EC key, its own kid', bearer(await mint(undefined, { key: other, kid: 'ABCD:EFGH' })), invalid);
  const rsa = (await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 })).privateKey;
  await assertNoAccess('RS256 by an unknown RSA key', bearer(await mint(undefined, { key: rsa, alg: 'RS256' })), invalid);

  const claims = decodeJwt(await mint());
  const none = new UnsecuredJWT(claims).encode();
  secrets.add(none);
  await assertNoAccess('alg none', bearer(none), invalid);
  const noneWithKid = `${b64({ alg: 'none', kid, typ: 'JWT' })}.${b64(claims)}.`;
  await assertNoAccess('alg none with the genuine kid', bearer(noneWithKid), invalid);
  await assertNoAccess('alg "None"', bearer(`${b64({ alg: 'None', typ: 'JWT' })}.${b64(claims)}.`), invalid);

  const enc = new TextEncoder();
  for (const [name, secret] of [
    ['the public key PEM', publicPem],
    ['the public key PEM without its trailing newline', publicPem.trimEnd()],
    ['the public key JWK', publicJwk],
  ] as const) {
    for (const alg of ['HS256', 'HS384', 'HS512']) {
      await assertNoAccess(`${alg} keyed with ${name}`, bearer(await mint(undefined, { key: enc.encode(secret), alg })), invalid);
    }
  }
  // The genuine signature under a header that claims another algorithm.
  const genuine = await mint();
  const [, payload, sig] = genuine.split('.');
  await assertNoAccess('genuine signature, header says ES384', bearer(`${b64({ alg: 'ES384', kid, typ: 'JWT' })}.${payload}.${sig}`), invalid);
  await assertNoAccess('genuine signature, header says HS256', bearer(`${b64({ alg: 'HS256', kid, typ: 'JWT' })}.${payload}.${sig}`), invalid);
  await assertNoAccess('signature stripped', bearer(`${genuine.split('.').slice(0, 2).join('.')}.`), invalid);
  await assertNoAccess('not a JWT', bearer('definitely-not-a-jwt'), invalid);
  await assertNoAccess('JWS JSON serialisation smuggled as text', `Bearer ${Buffer.from(JSON.stringify({ payload, signatures: [{ protected: genuine.split('.')[0], signature: sig }] })).toString('base64')}`, invalid);
});

test('hostile: expired, not-yet-valid, other service, other issuer and missing claims get invalid_token', async () => {
  await assertNoAccess('expired 10 minutes ago', bearer(await mint((c) => ({ ...c, iat: now() - 900, nbf: now() - 900, exp: now() - 600 }))), invalid);
  await assertNoAccess('expired 2 minutes ago (beyond the 60 s leeway)', bearer(await mint((c) => ({ ...c, exp: now() - 120 }))), invalid);
  await assertNoAccess('not valid for another 10 minutes', bearer(await mint((c) => ({ ...c, nbf: now() + 600 }))), invalid);
  await assertNoAccess('no exp at all', bearer(await mint(({ exp: _exp, ...c }) => c)), invalid);
  await assertNoAccess('audience: another service', bearer(await mint((c) => ({ ...c, aud: 'some-other-registry' }))), invalid);
  await assertNoAccess('audience: a list without us', bearer(await mint((c) => ({ ...c, aud: ['a', 'b'] }))), invalid);
  await assertNoAccess('audience: the refresh audience', bearer(await mint((c) => ({ ...c, aud: `${SERVICE}#refresh` }))), invalid);
  await assertNoAccess('no audience', bearer(await mint(({ aud: _aud, ...c }) => c)), invalid);
  await assertNoAccess('issuer: someone else', bearer(await mint((c) => ({ ...c, iss: 'evil-issuer' }))), invalid);
  await assertNoAccess('issuer: a prefix of ours', bearer(await mint((c) => ({ ...c, iss: ISSUER.slice(0, -1) }))), invalid);
  await assertNoAccess('no issuer', bearer(await mint(({ iss: _iss, ...c }) => c)), invalid);
  await assertNoAccess('access is not a list', bearer(await mint((c) => ({ ...c, access: { type: 'repository', name: 'team/a', actions: ['pull'] } }))), invalid);
  await assertNoAccess('access entries of the wrong shape', bearer(await mint((c) => ({ ...c, access: [{ type: 'repository', name: 'team/a', actions: 'pull,push,delete' }] }))), invalid);
});

test('hostile: a genuine token for repository A is refused on B, and a pull token cannot push', async () => {
  const forA = await issued('alice', ['repository:team/a:pull,push,delete']);
  assert.deepEqual(accessOf(forA), [{ type: 'repository', name: 'team/a', actions: ['delete', 'pull', 'push'] }]);
  const before = await snapshot(reg.rootDirectory);
  const onB = anon.with(bearer(forA));
  for (const r of [await onB.getManifest('team/b', '1'), await onB.startUpload('team/b'), await onB.putManifest('team/b', 'x', tinyImage().manifest), await onB.deleteManifest('team/b', '1')]) {
    assertError(r, 401, 'DENIED', 'team/a token on team/b');
    assert.equal(assertBearerChallenge(r, { realm, service: SERVICE }).params.error, 'insufficient_scope');
  }
  // Names that merely look related: refused (401), or invalid names (400); never served.
  for (const name of ['team/a/b', 'team/aa', 'team', 'Team/a', 'team/a/../b']) {
    const r = await onB.getManifest(name, '1');
    assert.ok(r.status === 401 || r.status === 400, `${name}: ${show(r)}`);
  }
  await assertUnchanged(reg.rootDirectory, before, 'team/a token used on team/b');

  const pullOnly = await issued('bob', ['repository:team/a:pull,push']);
  assert.deepEqual(accessOf(pullOnly), [{ type: 'repository', name: 'team/a', actions: ['pull'] }]);
  assert.equal((await anon.with(bearer(pullOnly)).getManifest('team/a', '1')).status, 200);
  await assertNoAccessExceptPull('bob pull token', bearer(pullOnly));
  const anonPull = (await fetchToken(realm, { service: SERVICE, scopes: ['repository:team/a:pull,push,delete'] })).token!;
  secrets.add(anonPull);
  assert.deepEqual(accessOf(anonPull), [{ type: 'repository', name: 'team/a', actions: ['pull'] }]);
  await assertNoAccessExceptPull('anonymous pull token', bearer(anonPull));
});

/** Writes and deletes with a pull-only token: insufficient_scope / DENIED, nothing written. */
async function assertNoAccessExceptPull(what: string, authorization: string): Promise<void> {
  const before = await snapshot(reg.rootDirectory);
  const c = anon.with(authorization);
  for (const [name, r] of [
    ['POST upload', await c.startUpload('team/a')],
    ['POST monolithic', await c.pushBlob('team/a', tinyImage().blobs[1]!)],
    ['PUT manifest', await c.putManifest('team/a', 'evil', tinyImage().manifest)],
    ['mount', await c.request('POST', `/v2/team/a/blobs/uploads/?mount=${seeded.blobs[0]!.digest}&from=team/b`)],
    ['DELETE manifest', await c.deleteManifest('team/a', seeded.manifest.digest)],
    ['DELETE blob', await c.request('DELETE', `/v2/team/a/blobs/${seeded.blobs[1]!.digest}`)],
  ] as const) {
    assertError(r, 401, 'DENIED', `${what}: ${name}`);
    assert.equal(assertBearerChallenge(r, { realm, service: SERVICE }).params.error, 'insufficient_scope', `${what}: ${name}`);
  }
  await assertUnchanged(reg.rootDirectory, before, what);
}

test('hostile: an edited access claim with the original signature is refused', async () => {
  const genuine = await issued('bob', ['repository:team/a:pull']);
  const [header, payload, sig] = genuine.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  const variants: Array<[string, unknown]> = [
    ['push added', [{ type: 'repository', name: 'team/a', actions: ['pull', 'push', 'delete'] }]],
    ['wildcard action', [{ type: 'repository', name: 'team/a', actions: ['*'] }]],
    ['entry added', [...claims.access, { type: 'repository', name: 'team/a', actions: ['push'] }]],
  ];
  for (const [name, access] of variants) {
    const edited = `${header}.${b64({ ...claims, access })}.${sig}`;
    await assertNoAccess(`tampered access claim (${name})`, bearer(edited), invalid);
  }
  // Whitespace-only change in the payload: still a different signed message.
  const spaced = `${header}.${Buffer.from(JSON.stringify(claims, null, 1)).toString('base64url')}.${sig}`;
  assertError(await anon.with(bearer(spaced)).getManifest('team/a', '1'), 401, 'UNAUTHORIZED');
  // Subject swapped.
  await assertNoAccess('tampered sub', bearer(`${header}.${b64({ ...claims, sub: 'alice', access: [{ type: 'repository', name: 'team/a', actions: ['pull', 'push', 'delete'] }] })}.${sig}`), invalid);
});

/** Every granted entry is one of `most`, with no action `most` does not list for it. */
function assertWithin(granted: Array<{ type: string; name: string; actions: string[] }>, most: Array<{ type: string; name: string; actions: string[] }>, label: string): void {
  for (const g of granted) {
    const m = most.find((x) => x.type === g.type && x.name === g.name);
    assert.ok(m, `${label}: granted ${JSON.stringify(g)} which it must not`);
    for (const a of g.actions) assert.ok(m.actions.includes(a), `${label}: granted ${a} on ${g.name}`);
  }
}

test('hostile: scope strings with injected spaces, colons and globs grant nothing extra', async () => {
  // `expected` is the most each request may yield; a server may grant less (e.g. drop `*`).
  const cases: Array<{ user: 'bob' | 'alice'; scopes: string[]; expected: Array<{ type: string; name: string; actions: string[] }> }> = [
    // Two scopes smuggled in one parameter: each is still intersected with bob's rules.
    { user: 'bob', scopes: ['repository:team/a:pull repository:*:push'], expected: [{ type: 'repository', name: 'team/a', actions: ['pull'] }] },
    { user: 'bob', scopes: ['repository:team/a:pull repository:team/a:push'], expected: [{ type: 'repository', name: 'team/a', actions: ['pull'] }] },
    { user: 'bob', scopes: ['repository:team/a:pull,push:extra'], expected: [] },
    { user: 'bob', scopes: ['repository:team/a:pull:push'], expected: [] },
    { user: 'bob', scopes: ['repository:team/a:pull%20repository:team/a:push'], expected: [] },
    { user: 'bob', scopes: ['repository:team/a:pull\trepository:team/a:push'], expected: [] },
    { user: 'bob', scopes: ['repository:team/a:pull\nrepository:team/a:push'], expected: [] },
    { user: 'bob', scopes: ['repository:team/a:*'], expected: [{ type: 'repository', name: 'team/a', actions: ['pull'] }] },
    { user: 'bob', scopes: ['repository:*:pull,push'], expected: [] },
    { user: 'bob', scopes: ['registry:catalog:*'], expected: [] },
    { user: 'bob', scopes: ['repository:../team/a:push', 'repository:team/a/../b:push'], expected: [] },
    { user: 'bob', scopes: ['repository:team/a:push,pull,push,delete,admin'], expected: [{ type: 'repository', name: 'team/a', actions: ['pull'] }] },
    // alice owns team/* only: globs and other types in the request do not widen that.
    { user: 'alice', scopes: ['repository:team/*:push'], expected: [] },
    { user: 'alice', scopes: ['repository:other:pull repository:team/x:push'], expected: [{ type: 'repository', name: 'team/x', actions: ['push'] }] },
    { user: 'alice', scopes: ['repository:other:pull,push:team/x'], expected: [] },
    { user: 'alice', scopes: ['registry:team/a:push', 'repository:catalog:*'], expected: [] },
    { user: 'alice', scopes: ['repository(plugin):team/a:pull'], expected: [] },
  ];
  for (const c of cases) {
    const r = await fetchToken(realm, { service: SERVICE, scopes: c.scopes, user: c.user, password: users[c.user] });
    const label = `${c.user} asking ${JSON.stringify(c.scopes)}`;
    if (r.status !== 200) {
      // Refusing the malformed request outright is fine too, as long as no token comes back.
      assert.ok(r.status === 400 || r.status === 401 || r.status === 403, `${label}: ${show(r.resp)}`);
      assert.equal(r.token, undefined, label);
      continue;
    }
    secrets.add(r.token!);
    assertWithin(accessOf(r.token!), c.expected, label);
  }
  // The same through the POST form, where the scope parameter is space-separated by design.
  const p = await postToken(realm, { grant_type: 'password', username: 'bob', password: users.bob, service: SERVICE, scope: 'repository:team/a:pull repository:*:push repository:team/a:pull,push:extra' });
  assert.equal(p.status, 200, show(p.resp));
  secrets.add(p.token!);
  assert.deepEqual(accessOf(p.token!), [{ type: 'repository', name: 'team/a', actions: ['pull'] }]);
  await assertNoAccessExceptPull('bob token from an injected POST scope', bearer(p.token!));

  const injected = (await fetchToken(realm, { service: SERVICE, scopes: ['repository:team/a:pull repository:*:push'], user: 'bob', password: users.bob })).token!;
  await assertNoAccessExceptPull('bob token from an injected GET scope', bearer(injected));
});

test('hostile: wrong passwords and unknown users get the same answer in comparable time', async () => {
  const askers = {
    wrong: () => fetchToken(realm, { service: SERVICE, scopes: ['repository:team/a:pull'], user: 'alice', password: `${users.alice}-wrong` }),
    unknown: () => fetchToken(realm, { service: SERVICE, scopes: ['repository:team/a:pull'], user: 'no-such-user', password: `${users.alice}-wrong` }),
  };
  const first = { wrong: await askers.wrong(), unknown: await askers.unknown() };
  for (const r of Object.values(first)) {
    assertError(r.resp, 401, 'UNAUTHORIZED');
    assert.equal(r.token, undefined);
  }
  assert.equal(first.wrong.resp.headers.get('www-authenticate'), first.unknown.resp.headers.get('www-authenticate'));
  assert.deepEqual(first.wrong.body, first.unknown.body);
  // POST too.
  const pw = await postToken(realm, { grant_type: 'password', username: 'alice', password: 'x', service: SERVICE });
  const pu = await postToken(realm, { grant_type: 'password', username: 'no-such-user', password: 'x', service: SERVICE });
  assertError(pw.resp, 401, 'UNAUTHORIZED');
  assert.deepEqual(pw.body, pu.body);
  assert.equal(pw.resp.status, pu.resp.status);
  // A username that is another user's name in a different case, or with the account parameter
  // naming someone else, is no way in either.
  for (const r of [
    await fetchToken(realm, { service: SERVICE, scopes: ['repository:team/a:push'], user: 'Alice', password: users.alice }),
    await fetchToken(realm, { service: SERVICE, scopes: ['repository:team/a:push'], user: 'bob', password: users.bob, account: 'alice' }),
  ]) {
    assertError(r.resp, 401, 'UNAUTHORIZED');
    assert.equal(r.token, undefined);
  }

  const times = { wrong: [] as number[], unknown: [] as number[] };
  for (let i = 0; i < 7; i++) {
    for (const k of ['wrong', 'unknown'] as const) {
      const t0 = performance.now();
      const r = await askers[k]();
      times[k].push(performance.now() - t0);
      assert.equal(r.status, 401);
    }
  }
  const w = median(times.wrong);
  const u = median(times.unknown);
  assert.ok(w > 20 && u > 20, `bcrypt should make both slow: wrong ${w.toFixed(1)} ms, unknown ${u.toFixed(1)} ms`);
  assert.ok(Math.max(w, u) / Math.min(w, u) < 3, `wrong password ${w.toFixed(1)} ms vs unknown user ${u.toFixed(1)} ms`);
});

test('hostile: a 64 KiB Authorization header gets 431 or 401, never 2xx, and the registry lives on', async () => {
  const before = await snapshot(reg.rootDirectory);
  const huge = [`Bearer ${'a'.repeat(64 * 1024)}`, basic('alice', 'x'.repeat(48 * 1024))];
  for (const authorization of huge) {
    for (const [method, target] of [['GET', '/v2/team/a/manifests/1'], ['POST', '/v2/team/a/blobs/uploads/'], ['GET', `/token?service=${SERVICE}&scope=repository:team/a:pull`]] as const) {
      const r = rawAsResp(await rawRequest({ port: reg.port, method, target, headers: { authorization }, timeoutMs: 10_000 }));
      assert.ok(r.status === 431 || r.status === 401, `${method} ${target} with a ${authorization.length}-byte header: ${show(r)}`);
    }
  }
  // Below node's header limit but far above any real token: refused by the verifier.
  const big = await mint((c) => ({ ...c, pad: 'x'.repeat(9 * 1024) }));
  const r = await anon.with(bearer(big)).getManifest('team/a', '1');
  assertError(r, 401, 'UNAUTHORIZED');
  assertBearerChallenge(r, { realm, service: SERVICE, error: 'invalid_token' });
  await assertUnchanged(reg.rootDirectory, before, 'huge Authorization headers');
  const ok = await anon.with(bearer(await issued('alice', ['repository:team/a:pull']))).getManifest('team/a', '1');
  assert.equal(ok.status, 200, `registry still serves: ${show(ok)}`);
});

test('hostile: tokens with a huge access list grant nothing they do not list, and cost little', async () => {
  const before = await snapshot(reg.rootDirectory);
  const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ type: 'repository', name: `decoy/r${i}`, actions: ['pull', 'push', 'delete'] }));
  const other = (await generateKeyPair('ES256', { extractable: true })).privateKey;
  const tokens: Array<[string, string]> = [
    // Genuinely signed, 5000 entries (~500 KB), none for team/a.
    ['genuine, 5000 entries without team/a', await mint((c) => ({ ...c, access: entries(5000) }))],
    // Forged, team/a hidden among thousands.
    ['forged, 5000 entries with team/a', await mint((c) => ({ ...c, access: [...entries(5000), { type: 'repository', name: 'team/a', actions: ['*'] }] }), { key: other })],
    // Below node's 16 KiB header limit but past any sane token size.
    ['genuine, 120 entries without team/a', await mint((c) => ({ ...c, access: entries(120) }))],
    ['forged, 120 entries with team/a', await mint((c) => ({ ...c, access: [...entries(120), { type: 'repository', name: 'team/a', actions: ['*'] }] }), { key: other })],
  ];
  for (const [what, tok] of tokens) {
    for (const [method, target] of [['GET', '/v2/team/a/manifests/1'], ['POST', '/v2/team/a/blobs/uploads/']] as const) {
      const t0 = performance.now();
      const raw = await rawRequest({ port: reg.port, method, target, headers: { authorization: bearer(tok) }, timeoutMs: 10_000 });
      const elapsed = performance.now() - t0;
      const r = rawAsResp(raw);
      if (tok.length + 7 > 16 * 1024) {
        assert.ok(r.status === 431 || r.status === 401, `${what} (${tok.length} bytes), ${method} ${target}: ${show(r)}`);
      } else {
        assertError(r, 401, what.startsWith('forged') ? 'UNAUTHORIZED' : ['UNAUTHORIZED', 'DENIED'], `${what}, ${method} ${target}`);
      }
      assert.ok(elapsed < 2000, `${what}: answered in ${elapsed.toFixed(0)} ms`);
    }
  }
  // A modest list without team/a, well within size limits: insufficient scope, as for any token.
  await assertNoAccess('genuine, 40 entries without team/a', bearer(await mint((c) => ({ ...c, access: entries(40) }))), insufficient);
  await assertUnchanged(reg.rootDirectory, before, 'huge access lists');

  // A token request asking for thousands of scopes is answered (or refused) without harm.
  const scopes = Array.from({ length: 3000 }, (_, i) => `repository:team/s${i}:pull,push`);
  const t1 = performance.now();
  const big = await postToken(realm, { grant_type: 'password', username: 'alice', password: users.alice, service: SERVICE, scope: scopes.join(' ') });
  assert.ok(big.status < 500, show(big.resp));
  if (big.token) secrets.add(big.token);
  assert.ok(performance.now() - t1 < 10_000, 'token request with 3000 scopes took too long');
  const viaGet = await fetchToken(realm, { service: SERVICE, scopes: scopes.slice(0, 300), user: 'alice', password: users.alice });
  assert.ok(viaGet.status < 500, show(viaGet.resp));
  if (viaGet.token) secrets.add(viaGet.token);
  const alive = await anon.get('/v2/');
  assert.equal(alive.status, 401, show(alive));
});

test('hostile: the registry logs no password and no token', async () => {
  await new Promise((r) => setTimeout(r, 300));
  const out = reg.output();
  assert.ok(out.includes('token issued'), 'the token server logs at info level');
  for (const [user, pw] of Object.entries(users)) {
    assert.ok(!out.includes(pw), `the log contains ${user}'s password`);
    assert.ok(!out.includes(Buffer.from(`${user}:${pw}`).toString('base64')), `the log contains ${user}'s Basic credentials`);
  }
  for (const s of secrets) {
    assert.ok(!out.includes(s), `the log contains a token (${s.slice(0, 24)}...)`);
    // nor its signature alone
    const sig = s.split('.')[2];
    if (sig && sig.length > 20) assert.ok(!out.includes(sig), `the log contains a token signature (${sig.slice(0, 16)}...)`);
  }
  // and the signing key
  const keyBody = signingPkcs8.split('\n').filter((l) => l && !l.startsWith('-----')).join('');
  assert.ok(!out.includes(keyBody.slice(0, 40)), 'the log contains the signing key');
});
