// Pull-through cache against different upstreams: our registry behind its built-in token server
// (with and without proxy credentials), CNCF distribution, and several upstreams by prefix.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { startDistribution } from '../helpers/distribution.js';
import { need, tempDir } from '../helpers/env.js';
import { assertError, OciClient } from '../helpers/oci-client.js';
import { startRegistry } from '../helpers/registry.js';
import { AuthClient, bearer, mustToken, password, SERVICE, tinyImage, tokenAuthConfig, writeHtpasswd } from '../auth/lib.js';
import { assertBlob, pushImage, startCountingProxy, storedLocally } from './lib.js';

const T = { timeout: 60_000 };

test('token-auth upstream: the proxy\'s credentials get a token once per scope and pull private repositories', T, async (t) => {
  const dir = await tempDir(t, 'tsd-proxy-auth-');
  const users = { alice: password('alice'), bob: password('bob') };
  const htpasswd = join(dir, 'htpasswd');
  await writeHtpasswd(htpasswd, users, 5);
  // The counting proxy fronts the upstream and its token realm, so token requests are counted too.
  const counter = await startCountingProxy(t);
  const realm = `${counter.url}/token`;
  // Only alice may read team/*: anonymous pulls get nothing.
  const access = [{ repository: 'team/*', users: ['alice'], actions: ['pull', 'push'] }];
  const upstream = await startRegistry(t, { config: { auth: tokenAuthConfig(realm, htpasswd, { access }) } });
  counter.target = upstream.url;

  const image = tinyImage();
  const pushToken = await mustToken(realm, { service: SERVICE, scopes: ['repository:team/app:pull,push'], user: 'alice', password: users.alice });
  await new AuthClient(upstream.url).with(bearer(pushToken)).pushImage('team/app', '1', image);
  counter.reset();

  const mirror = await startRegistry(t, { config: { proxy: { remoteurl: counter.url, username: 'alice', password: users.alice } } });
  const mc = new OciClient(mirror.url);
  const m = await mc.getManifest('team/app', '1');
  assert.equal(m.status, 200, m.text());
  assert.ok(m.body.equals(image.manifest.bytes));
  for (const b of image.blobs) await assertBlob(mc, 'team/app', b, 'token upstream');
  assert.equal(counter.count('GET', /^\/token\?/), 1, `one token for the scope: ${JSON.stringify(counter.requests.map((r) => `${r.method} ${r.path.slice(0, 80)} ${r.status}`))}`);
  const tokenRequest = counter.requests.find((r) => r.path.startsWith('/token?'))!;
  assert.match(decodeURIComponent(tokenRequest.path), /scope=repository:team\/app:pull/);
  assert.equal(tokenRequest.status, 200);
  assert.ok(!mirror.output().includes(users.alice), 'the password is never logged');

  // Without credentials the upstream refuses the private repository: nothing cached, so 503.
  const anonymous = await startRegistry(t, { config: { proxy: { remoteurl: counter.url } } });
  const am = new OciClient(anonymous.url);
  assertError(await am.getManifest('team/app', '1'), 503, 'UNAVAILABLE');
  assert.ok(!storedLocally(anonymous.rootDirectory, 'team/app', image.blobs[0]!.digest));
});

test('CNCF distribution as the upstream: pull through, stored, then no upstream fetch', T, async (t) => {
  if (!need(t, { programs: ['docker-registry'] })) return;
  const dist = await startDistribution(t);
  const counter = await startCountingProxy(t, dist.url);
  const up = new OciClient(dist.url);
  const name = 'library/from-distribution';
  const image = await pushImage(up, name, '1', { layerSize: 256 * 1024 });
  const docker = await up.makeImage(name, { format: 'docker' });
  await up.pushManifest(name, 'docker', docker);

  const mirror = await startRegistry(t, { config: { proxy: { remoteurl: counter.url } } });
  const mc = new OciClient(mirror.url);
  for (const [tag, img] of [['1', image], ['docker', docker]] as const) {
    const m = await mc.getManifest(name, tag);
    assert.equal(m.status, 200, m.text());
    assert.ok(m.body.equals(img.bytes));
    assert.equal(m.headers.get('docker-content-digest'), img.digest);
    assert.equal(m.headers.get('content-type'), img.mediaType);
    for (const b of img.blobs) await assertBlob(mc, name, b, `distribution ${tag}`);
    for (const b of img.blobs) assert.ok(storedLocally(mirror.rootDirectory, name, b.digest));
  }
  const tags = await mc.listTags(name);
  assert.deepEqual(tags.json().tags, ['1', 'docker']);
  counter.reset();
  for (const b of [...image.blobs, ...docker.blobs]) await assertBlob(mc, name, b, 'second pull');
  assert.equal(counter.count('GET', /\/blobs\//), 0, 'no upstream blob fetch on the second pull');
});

test('several upstreams: prefixes pick the upstream and are stripped; unprefixed names go to the default', T, async (t) => {
  const a = await startRegistry(t);
  const b = await startRegistry(t);
  const ua = new OciClient(a.url);
  const ub = new OciClient(b.url);
  const inA = await pushImage(ua, 'owner/repo', '1');
  const inB = await pushImage(ub, 'library/busybox', 'latest');
  const mirror = await startRegistry(t, {
    config: {
      proxy: {
        upstreams: [
          { prefix: 'ghcr.io', remoteurl: a.url },
          { prefix: 'docker.io', remoteurl: b.url, default: true },
        ],
      },
    },
  });
  const mc = new OciClient(mirror.url);
  const viaPrefix = await mc.getManifest('ghcr.io/owner/repo', '1');
  assert.equal(viaPrefix.status, 200, viaPrefix.text());
  assert.ok(viaPrefix.body.equals(inA.bytes));
  await assertBlob(mc, 'ghcr.io/owner/repo', inA.blobs[1]!);
  assert.ok(storedLocally(mirror.rootDirectory, 'ghcr.io/owner/repo', inA.blobs[1]!.digest), 'stored under the prefixed name');

  for (const name of ['library/busybox', 'docker.io/library/busybox']) {
    const m = await mc.getManifest(name, 'latest');
    assert.equal(m.status, 200, `${name}: ${m.text()}`);
    assert.ok(m.body.equals(inB.bytes));
    await assertBlob(mc, name, inB.blobs[0]!);
  }
  // Every name is proxied (there is a default), so nothing takes pushes.
  assertError(await mc.startUpload('team/app'), 405, 'UNSUPPORTED');
  assertError(await mc.getManifest('ghcr.io/owner/missing', '1'), 404, 'MANIFEST_UNKNOWN');
});
