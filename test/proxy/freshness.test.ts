// Pull-through cache: tag freshness (ttl), an upstream that is down, slow or rate-limiting, the
// freshness state across a restart, and which repositories take pushes.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assertError, makeBlob, OciClient, sleep } from '../helpers/oci-client.js';
import { startRegistry } from '../helpers/registry.js';
import { assertBlob, pushImage, startCountingProxy } from './lib.js';

const T = { timeout: 60_000 };
type Hooks = { after(fn: () => unknown): void };

async function setup(t: Hooks, proxyExtra: Record<string, unknown> = {}, mirrorRoot?: string) {
  const upstream = await startRegistry(t);
  const counter = await startCountingProxy(t, upstream.url);
  const mirror = await startRegistry(t, { ...(mirrorRoot ? { rootDirectory: mirrorRoot } : {}), config: { proxy: { remoteurl: counter.url, ...proxyExtra } } });
  return { upstream, counter, mirror, up: new OciClient(upstream.url), mc: new OciClient(mirror.url) };
}

test('a tag moved upstream is seen after the ttl, not before; an unchanged tag costs one HEAD', T, async (t) => {
  const { counter, up, mc } = await setup(t, { ttl: '2s' });
  const name = 'library/moving';
  const v1 = await pushImage(up, name, 'latest');
  const first = await mc.getManifest(name, 'latest');
  assert.equal(first.headers.get('docker-content-digest'), v1.digest);
  const fetchedAt = Date.now();

  const v2 = await pushImage(up, name, 'latest');
  counter.reset();
  const before = await mc.getManifest(name, 'latest');
  assert.equal(before.headers.get('docker-content-digest'), v1.digest, 'within the ttl the cached tag is served');
  assert.equal(counter.count('HEAD', /\/manifests\//) + counter.count('GET', /\/manifests\//), 0, 'no upstream request within the ttl');

  await sleep(Math.max(0, fetchedAt + 2200 - Date.now()));
  const after = await mc.getManifest(name, 'latest');
  assert.equal(after.status, 200);
  assert.equal(after.headers.get('docker-content-digest'), v2.digest, 'after the ttl the moved tag is seen');
  assert.ok(after.body.equals(v2.bytes));
  assert.equal(counter.count('HEAD', `/v2/${name}/manifests/latest`), 1, 'revalidated with a HEAD');
  assert.equal(counter.count('GET', `/v2/${name}/manifests/latest`), 1, 'then fetched the new manifest');
  for (const b of v2.blobs) await assertBlob(mc, name, b);

  // Unchanged after another ttl: a HEAD, no GET.
  await sleep(2200);
  counter.reset();
  const same = await mc.getManifest(name, 'latest');
  assert.equal(same.headers.get('docker-content-digest'), v2.digest);
  assert.equal(counter.count('HEAD', `/v2/${name}/manifests/latest`), 1);
  assert.equal(counter.count('GET', `/v2/${name}/manifests/latest`), 0);
});

test('upstream stopped: cached tags and blobs are still served; uncached content is a 503 JSON error', T, async (t) => {
  const { upstream, up, mc, mirror } = await setup(t, { ttl: '0' });
  const name = 'library/cached';
  const image = await pushImage(up, name, '1');
  const other = await pushImage(up, name, '2');
  assert.equal((await mc.getManifest(name, '1')).status, 200);
  for (const b of image.blobs) await assertBlob(mc, name, b);

  await upstream.stop();
  const stale = await mc.getManifest(name, '1');
  assert.equal(stale.status, 200, stale.text());
  assert.ok(stale.body.equals(image.bytes));
  assert.equal((await mc.getManifest(name, image.digest)).status, 200);
  for (const b of image.blobs) await assertBlob(mc, name, b, 'upstream down');
  assert.match(mirror.output(), /serving the cached tag/, 'a warning is logged');

  assertError(await mc.getManifest(name, '2'), 503, 'UNAVAILABLE');
  assertError(await mc.getManifest(name, other.digest), 503, 'UNAVAILABLE');
  assertError(await mc.getBlob(name, other.blobs[1]!.digest), 503, 'UNAVAILABLE');
  // The tag list falls back to what is cached.
  const tags = await mc.listTags(name);
  assert.equal(tags.status, 200);
  assert.deepEqual(tags.json().tags, ['1']);
});

test('upstream answering 429: cached content is served; uncached gets TOOMANYREQUESTS passed through', T, async (t) => {
  const { counter, up, mc } = await setup(t, { ttl: '0' });
  const name = 'library/limited';
  const image = await pushImage(up, name, '1');
  const other = await pushImage(up, name, '2');
  assert.equal((await mc.getManifest(name, '1')).status, 200);
  for (const b of image.blobs) await assertBlob(mc, name, b);

  counter.fault = 429;
  const cached = await mc.getManifest(name, '1');
  assert.equal(cached.status, 200);
  assert.ok(cached.body.equals(image.bytes));
  for (const b of image.blobs) await assertBlob(mc, name, b, 'upstream 429');
  const limited = await mc.getManifest(name, '2');
  assertError(limited, 429, 'TOOMANYREQUESTS');
  assert.equal(limited.headers.get('retry-after'), '7');
  assertError(await mc.getBlob(name, other.blobs[0]!.digest), 429, 'TOOMANYREQUESTS');

  counter.fault = 503;
  assert.equal((await mc.getManifest(name, '1')).status, 200);
  assertError(await mc.getManifest(name, '2'), 503, 'UNAVAILABLE');
});

test('a hanging upstream: after the timeout the cached tag is served, uncached content is 503', T, async (t) => {
  const { counter, up, mc } = await setup(t, { ttl: '0', timeout: '1s' });
  const name = 'library/hanging';
  const image = await pushImage(up, name, '1');
  await pushImage(up, name, '2');
  assert.equal((await mc.getManifest(name, '1')).status, 200);

  counter.fault = 'hang';
  const started = Date.now();
  const cached = await mc.getManifest(name, '1');
  assert.equal(cached.status, 200);
  assert.ok(cached.body.equals(image.bytes));
  const took = Date.now() - started;
  assert.ok(took >= 900 && took < 5000, `served after the 1 s timeout (${took} ms)`);
  assertError(await mc.getManifest(name, '2'), 503, 'UNAVAILABLE');
});

test('the freshness state lives in storage and survives a restart', T, async (t) => {
  const { counter, up, mc, mirror } = await setup(t, { ttl: '1h' });
  const name = 'library/restart';
  assert.equal((await mc.ping()).status, 200);
  const image = await pushImage(up, name, '1');
  assert.equal((await mc.getManifest(name, '1')).status, 200);
  const statePath = join(mirror.rootDirectory, 'docker/registry/v2/repositories', name, '_tsdocker_proxy/tags/1');
  assert.ok(existsSync(statePath), 'state beside the repository');
  assert.equal(JSON.parse(readFileSync(statePath, 'utf8')).digest, image.digest);

  await mirror.stop();
  const again = await startRegistry(t, { rootDirectory: mirror.rootDirectory, config: { proxy: { remoteurl: counter.url, ttl: '1h' } } });
  counter.reset();
  const r = await new OciClient(again.url).getManifest(name, '1');
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('docker-content-digest'), image.digest);
  assert.deepEqual(counter.requests, [], 'still fresh after the restart: no upstream request');
});

test('several upstreams by prefix: proxied repositories refuse pushes (405 UNSUPPORTED), local ones take them', T, async (t) => {
  const upstream = await startRegistry(t);
  const up = new OciClient(upstream.url);
  const mirror = await startRegistry(t, { config: { proxy: { upstreams: [{ prefix: 'up.example', remoteurl: upstream.url }] } } });
  const mc = new OciClient(mirror.url);
  const image = await pushImage(up, 'library/app', '1');

  // `up.example/library/app` is the upstream's `library/app`.
  const m = await mc.getManifest('up.example/library/app', '1');
  assert.equal(m.status, 200, m.text());
  assert.ok(m.body.equals(image.bytes));
  for (const b of image.blobs) await assertBlob(mc, 'up.example/library/app', b);

  // Pushes and deletes to a proxied repository are refused.
  assertError(await mc.startUpload('up.example/library/app'), 405, 'UNSUPPORTED');
  assertError(await mc.pushBlobMonolithic('up.example/library/app', makeBlob('x')), 405, 'UNSUPPORTED');
  assertError(await mc.putManifest('up.example/library/app', '2', image), 405, 'UNSUPPORTED');
  assertError(await mc.deleteManifest('up.example/library/app', '1'), 405, 'UNSUPPORTED');

  // Without a default upstream, other names are local repositories: push and pull work, nothing upstream.
  const local = await pushImage(mc, 'team/app', 'v1');
  const got = await mc.getManifest('team/app', 'v1');
  assert.equal(got.status, 200);
  assert.ok(got.body.equals(local.bytes));
  assert.equal((await up.getManifest('team/app', 'v1')).status, 404, 'the local push did not go upstream');
  assert.equal((await mc.getManifest('library/app', '1')).status, 404, 'an unprefixed name is not proxied without a default');
});
