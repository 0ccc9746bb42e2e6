// The real client: a private dockerd with `--registry-mirror` pointing at our pull-through cache
// pulls `docker.io/library/testimg:1` through it (the upstream is a registry on loopback), and
// pulls it again from the cache once the upstream is gone. dockerd only uses mirrors for
// docker.io; it must never fall back to Docker Hub, so the mirror must always answer, and dockerd
// runs with HTTP(S)_PROXY pointing at a closed loopback port: a fallback would fail at once
// instead of leaving the machine.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startDockerd } from '../helpers/dockerd.js';
import { need } from '../helpers/env.js';
import { buildImage } from '../helpers/images.js';
import { makeBlob, OciClient } from '../helpers/oci-client.js';
import { startRegistry } from '../helpers/registry.js';
import { startCountingProxy } from './lib.js';

test('dockerd with registry-mirrors pulls docker.io/library/testimg:1 through the cache, and again with the upstream stopped', { timeout: 150_000 }, async (t) => {
  if (!need(t, { programs: ['dockerd', 'docker'], root: true })) return;
  const upstream = await startRegistry(t);
  const up = new OciClient(upstream.url);
  const image = await buildImage({ format: 'docker', layers: 2 });
  for (const b of [image.config, ...image.layers]) await up.pushBlob('library/testimg', makeBlob(b.bytes));
  const put = await up.putManifest('library/testimg', '1', { bytes: image.manifest.bytes, mediaType: image.manifest.mediaType });
  assert.equal(put.status, 201, put.text());

  const counter = await startCountingProxy(t, upstream.url);
  // ttl 0: every pull revalidates the tag, so the second pull really meets the stopped upstream.
  const mirror = await startRegistry(t, { config: { log: { level: 'info' }, proxy: { remoteurl: counter.url, ttl: '0' } } });

  const closedPort = 'http://127.0.0.1:9';
  const dockerd = await startDockerd(t, {
    // info level (the later flag wins): a fallback to the next endpoint would be logged.
    extraArgs: [`--registry-mirror=${mirror.url}`, '--log-level', 'info'],
    daemonEnv: { HTTP_PROXY: closedPort, HTTPS_PROXY: closedPort, http_proxy: closedPort, https_proxy: closedPort, NO_PROXY: '127.0.0.1,localhost', no_proxy: '127.0.0.1,localhost' },
  });
  const ref = 'docker.io/library/testimg:1';
  const inspectId = async () => (await dockerd.docker(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim();

  const first = await dockerd.docker(['pull', ref], { timeoutMs: 60_000 });
  assert.match(first.stdout, new RegExp(`Digest: ${image.manifest.digest}`), first.stdout);
  assert.equal(await inspectId(), image.config.digest);
  assert.equal(counter.count('GET', '/v2/library/testimg/manifests/1'), 1, 'the manifest came from the upstream through the mirror');
  for (const l of image.layers) assert.equal(counter.count('GET', `/v2/library/testimg/blobs/${l.digest}`), 1, `layer ${l.digest} fetched once`);
  assert.match(mirror.output(), /"path":"\/v2\/library\/testimg\/manifests\/1"/, 'dockerd asked the mirror');

  // The upstream goes away; the image is removed locally; the pull is served from the cache.
  await upstream.stop();
  await dockerd.docker(['rmi', ref]);
  assert.notEqual((await dockerd.docker(['image', 'inspect', ref], { allowFailure: true })).code, 0);
  const second = await dockerd.docker(['pull', ref], { timeoutMs: 60_000 });
  assert.match(second.stdout, new RegExp(`Digest: ${image.manifest.digest}`), second.stdout);
  assert.equal(await inspectId(), image.config.digest);
  assert.match(mirror.output(), /serving the cached tag/);
  assert.doesNotMatch(dockerd.output(), /registry-1\.docker\.io|index\.docker\.io|Attempting next endpoint/, 'dockerd never fell back to Docker Hub');
  await dockerd.docker(['rmi', ref]);
});
