// An external token server: the registry only verifies tokens, against the certificates of
// auth.token.rootcertbundle or the keys of auth.token.jwks. We play the token server with jose.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, KeyObject, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type JWTPayload } from 'jose';
import { need, tempDir } from '../helpers/env.js';
import { assertError, show } from '../helpers/oci-client.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { assertBearerChallenge, assertUnchanged, AuthClient, bearer, libtrustKid, makeSigningCert, snapshot, tinyImage } from './lib.js';

const REALM = 'https://auth.example.test/token';
const SERVICE = 'registry.example.test';
const ISSUER = 'example-token-issuer';

type Key = Parameters<SignJWT['sign']>[0];
const now = () => Math.floor(Date.now() / 1000);

function sign(key: Key, alg: string, kid: string | undefined, access: unknown, change: (c: JWTPayload) => JWTPayload = (c) => c): Promise<string> {
  const claims = change({
    iss: ISSUER,
    sub: 'someone',
    aud: SERVICE,
    iat: now(),
    nbf: now() - 1,
    exp: now() + 300,
    jti: randomBytes(8).toString('hex'),
    access,
  });
  return new SignJWT(claims).setProtectedHeader(kid === undefined ? { alg, typ: 'JWT' } : { alg, kid, typ: 'JWT' }).sign(key);
}

const rw = (name: string) => [{ type: 'repository', name, actions: ['pull', 'push'] }];

/** Push with `token`, read back; asserts the registry accepted the token for both. */
async function assertGrants(reg: RunningRegistry, token: string, name: string, what: string): Promise<void> {
  const c = new AuthClient(reg.url, bearer(token));
  const img = tinyImage();
  for (const b of img.blobs) {
    const r = await c.pushBlob(name, b);
    assert.equal(r.status, 201, `${what}: ${show(r)}`);
  }
  const m = await c.putManifest(name, 'v1', img.manifest);
  assert.equal(m.status, 201, `${what}: ${show(m)}`);
  const g = await c.getManifest(name, 'v1');
  assert.equal(g.status, 200, `${what}: ${show(g)}`);
}

async function assertInvalid(reg: RunningRegistry, token: string, what: string): Promise<void> {
  const before = await snapshot(reg.rootDirectory);
  const c = new AuthClient(reg.url, bearer(token));
  for (const r of [await c.getManifest('ext/app', 'v1'), await c.startUpload('ext/app'), await c.putManifest('ext/app', 'x', tinyImage().manifest)]) {
    assertError(r, 401, 'UNAUTHORIZED', what);
    assertBearerChallenge(r, { realm: REALM, service: SERVICE, error: 'invalid_token' });
  }
  await assertUnchanged(reg.rootDirectory, before, what);
}

test('external token server (rootcertbundle): ES256 and RS256 tokens from the bundle\'s keys are honoured, others are not', async (t) => {
  if (!need(t, { programs: ['openssl'] })) return;
  const dir = await tempDir(t, 'tsd-auth-ext-cert-');
  const ec = await makeSigningCert(dir, 'token-ec', 'ec');
  const rsa = await makeSigningCert(dir, 'token-rsa', 'rsa');
  const stranger = await makeSigningCert(dir, 'stranger', 'ec');
  const bundle = join(dir, 'bundle.pem');
  await writeFile(bundle, `${await readFile(ec.cert, 'utf8')}${await readFile(rsa.cert, 'utf8')}`);
  const reg = await startRegistry(t, {
    config: { log: { level: 'info' }, auth: { token: { realm: REALM, service: SERVICE, issuer: ISSUER, rootcertbundle: bundle } } },
  });
  const anon = new AuthClient(reg.url);

  // The challenge names the external realm, and the registry serves no token endpoint of its own.
  const ch = await anon.getManifest('ext/app', 'v1');
  assertError(ch, 401, 'UNAUTHORIZED');
  assertBearerChallenge(ch, { realm: REALM, service: SERVICE, scope: 'repository:ext/app:pull', error: null });
  const own = await anon.get('/token?service=x&scope=repository:ext/app:pull');
  assert.ok(own.status === 404 || own.status === 401, `no built-in token server: ${show(own)}`);
  assert.equal(own.json().token, undefined);

  const ecKey = createPrivateKey(await readFile(ec.key));
  const rsaKey = createPrivateKey(await readFile(rsa.key));
  const ecKid = libtrustKid(createPublicKey(ecKey));
  const rsaKid = libtrustKid(createPublicKey(rsaKey));
  await assertGrants(reg, await sign(ecKey, 'ES256', ecKid, rw('ext/ec')), 'ext/ec', 'ES256 with the libtrust kid');
  await assertGrants(reg, await sign(rsaKey, 'RS256', rsaKid, rw('ext/rsa')), 'ext/rsa', 'RS256 with the libtrust kid');
  await assertGrants(reg, await sign(rsaKey, 'PS256', rsaKid, rw('ext/pss')), 'ext/pss', 'PS256 with the libtrust kid');
  await assertGrants(reg, await sign(ecKey, 'ES256', undefined, rw('ext/nokid')), 'ext/nokid', 'ES256 without kid');

  // Access is what the token lists: pull only means pull only.
  const pullOnly = await sign(ecKey, 'ES256', ecKid, [{ type: 'repository', name: 'ext/ec', actions: ['pull'] }]);
  const po = new AuthClient(reg.url, bearer(pullOnly));
  assert.equal((await po.getManifest('ext/ec', 'v1')).status, 200);
  const refused = await po.startUpload('ext/ec');
  assertError(refused, 401, 'DENIED');
  assertBearerChallenge(refused, { realm: REALM, service: SERVICE, scope: 'repository:ext/ec:pull,push', error: 'insufficient_scope' });
  const cat = await sign(ecKey, 'ES256', ecKid, [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
  const listing = await new AuthClient(reg.url, bearer(cat)).get('/v2/_catalog');
  assert.equal(listing.status, 200, show(listing));
  assert.deepEqual(listing.json().repositories.sort(), ['ext/ec', 'ext/nokid', 'ext/pss', 'ext/rsa']);

  // Leeway: 60 s either way, as distribution.
  await assertGrants(reg, await sign(ecKey, 'ES256', ecKid, rw('ext/leeway'), (c) => ({ ...c, exp: now() - 20 })), 'ext/leeway', 'expired 20 s ago');
  await assertGrants(reg, await sign(ecKey, 'ES256', ecKid, rw('ext/leeway2'), (c) => ({ ...c, nbf: now() + 20 })), 'ext/leeway2', 'valid from 20 s on');

  // Refused: a key outside the bundle (even naming a bundle key's kid), wrong claims, weak algorithms.
  const strangerKey = createPrivateKey(await readFile(stranger.key));
  await assertInvalid(reg, await sign(strangerKey, 'ES256', libtrustKid(createPublicKey(strangerKey)), rw('ext/app')), 'a key not in the bundle');
  await assertInvalid(reg, await sign(strangerKey, 'ES256', ecKid, rw('ext/app')), 'a key not in the bundle, claiming a bundle kid');
  await assertInvalid(reg, await sign(ecKey, 'ES256', ecKid, rw('ext/app'), (c) => ({ ...c, exp: now() - 120 })), 'expired 120 s ago');
  await assertInvalid(reg, await sign(ecKey, 'ES256', ecKid, rw('ext/app'), (c) => ({ ...c, nbf: now() + 120 })), 'not valid for 120 s');
  await assertInvalid(reg, await sign(ecKey, 'ES256', ecKid, rw('ext/app'), (c) => ({ ...c, aud: 'another.registry' })), 'for another service');
  await assertInvalid(reg, await sign(ecKey, 'ES256', ecKid, rw('ext/app'), (c) => ({ ...c, iss: 'another-issuer' })), 'from another issuer');
  await assertInvalid(reg, new UnsecuredJWT({ iss: ISSUER, aud: SERVICE, exp: now() + 60, access: rw('ext/app') }).encode(), 'alg none');
  const enc = new TextEncoder();
  await assertInvalid(reg, await sign(enc.encode(await readFile(ec.cert, 'utf8')), 'HS256', ecKid, rw('ext/app')), 'HS256 keyed with the bundle certificate');
  await assertInvalid(reg, await sign(enc.encode(await readFile(bundle, 'utf8')), 'HS256', ecKid, rw('ext/app')), 'HS256 keyed with the whole bundle');
  const spki = createPublicKey(ecKey).export({ type: 'spki', format: 'pem' }).toString();
  await assertInvalid(reg, await sign(enc.encode(spki), 'HS256', ecKid, rw('ext/app')), 'HS256 keyed with the public key PEM');
});

test('external token server (jwks): RS256, PS256, ES256 and ES384 keys from a JWKS file', async (t) => {
  const dir = await tempDir(t, 'tsd-auth-ext-jwks-');
  const pairs = {
    rs: await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 }),
    es: await generateKeyPair('ES256', { extractable: true }),
    es384: await generateKeyPair('ES384', { extractable: true }),
  };
  const jwks = {
    keys: [
      { ...(await exportJWK(pairs.rs.publicKey)), kid: 'rsa-1', use: 'sig' },
      { ...(await exportJWK(pairs.es.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
      { ...(await exportJWK(pairs.es384.publicKey)), kid: 'ec384-1', alg: 'ES384', use: 'sig' },
      // A symmetric key in the set must never become a way in.
      { kty: 'oct', kid: 'oct-1', k: Buffer.from('shared-secret-that-must-not-work').toString('base64url'), alg: 'HS256' },
    ],
  };
  const jwksPath = join(dir, 'jwks.json');
  await writeFile(jwksPath, JSON.stringify(jwks));
  const reg = await startRegistry(t, {
    config: { log: { level: 'info' }, auth: { token: { realm: REALM, service: SERVICE, issuer: ISSUER, jwks: jwksPath } } },
  });
  const ch = await new AuthClient(reg.url).get('/v2/');
  assertBearerChallenge(ch, { realm: REALM, service: SERVICE, error: null });

  // A KeyObject, not the WebCrypto key (which is bound to one algorithm), to sign with all three.
  const rsaKey = KeyObject.from(pairs.rs.privateKey);
  await assertGrants(reg, await sign(rsaKey, 'RS256', 'rsa-1', rw('jwks/rs256')), 'jwks/rs256', 'RS256');
  await assertGrants(reg, await sign(rsaKey, 'PS256', 'rsa-1', rw('jwks/ps256')), 'jwks/ps256', 'PS256');
  await assertGrants(reg, await sign(rsaKey, 'RS512', 'rsa-1', rw('jwks/rs512')), 'jwks/rs512', 'RS512');
  await assertGrants(reg, await sign(pairs.es.privateKey, 'ES256', 'ec-1', rw('jwks/es256')), 'jwks/es256', 'ES256');
  await assertGrants(reg, await sign(pairs.es384.privateKey, 'ES384', 'ec384-1', rw('jwks/es384')), 'jwks/es384', 'ES384');

  const other = await generateKeyPair('ES256', { extractable: true });
  await assertInvalid(reg, await sign(other.privateKey, 'ES256', 'ec-1', rw('ext/app')), 'unknown key under a known kid');
  await assertInvalid(reg, await sign(other.privateKey, 'ES256', 'nope', rw('ext/app')), 'unknown key, unknown kid');
  await assertInvalid(reg, await sign(new TextEncoder().encode('shared-secret-that-must-not-work'), 'HS256', 'oct-1', rw('ext/app')), 'HS256 with the oct key of the JWKS');
  await assertInvalid(reg, await sign(new TextEncoder().encode(JSON.stringify(jwks.keys[1])), 'HS256', 'ec-1', rw('ext/app')), 'HS256 keyed with the JWK');
  await assertInvalid(reg, await sign(new TextEncoder().encode(await readFile(jwksPath, 'utf8')), 'HS256', 'ec-1', rw('ext/app')), 'HS256 keyed with the JWKS file');
  // A P-384 key cannot sign an ES256 token under the ES384 kid, nor the other way round.
  await assertInvalid(reg, await sign(pairs.es.privateKey, 'ES256', 'ec384-1', rw('ext/app')), 'ES256 token under the ES384 kid');
});
