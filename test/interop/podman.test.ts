import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { need, tempDir } from '../helpers/env.js';
import { gunzipSync } from 'node:zlib';
import { buildImage, MT, sha256, writeOciLayout } from '../helpers/images.js';
import { assertServes, getBlob, getManifest, listTags, privatePodman, skopeo, startTarget, TEST_TIMEOUT } from './harness.js';

test('podman pulls an image pushed by skopeo, pushes it to another repository and pulls it again', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: ['podman', 'skopeo'], root: true })) return;
  const reg = await startTarget(t);
  const work = await tempDir(t);
  const podman = await privatePodman(t);
  const image = await buildImage({ layers: 2 });
  await writeOciLayout(join(work, 'src'), [{ tag: 'v1', image }]);
  const src = `${reg.host}/interop/podman-src:v1`;
  await skopeo(['copy', '--dest-tls-verify=false', `oci:${join(work, 'src')}:v1`, `docker://${src}`]);

  await podman(['pull', '--tls-verify=false', src]);
  const pulled = JSON.parse((await podman(['image', 'inspect', src])).stdout)[0];
  assert.equal(pulled.Digest, image.manifest.digest);
  assert.equal(`sha256:${pulled.Id}`, image.config.digest);
  assert.deepEqual(pulled.RootFS.Layers, image.layers.map((l) => l.diffId));

  const dst = `${reg.host}/interop/podman-dst:v2`;
  await podman(['push', '--tls-verify=false', src, `docker://${dst}`]);
  const served = await getManifest(reg.url, 'interop/podman-dst', 'v2');
  assert.equal(served.status, 200);
  assert.equal(sha256(served.bytes), served.digest);
  const manifest = JSON.parse(served.bytes.toString('utf8'));
  // podman recompresses layers, so the digests may change; the content and the config may not.
  assert.equal(manifest.mediaType ?? served.contentType, MT.ociManifest);
  assert.equal(manifest.config.digest, image.config.digest);
  assert.equal(manifest.layers.length, image.layers.length);
  for (const [i, l] of manifest.layers.entries()) {
    const gz = await getBlob(reg.url, 'interop/podman-dst', l.digest);
    assert.equal(sha256(gz), l.digest);
    assert.equal(sha256(gunzipSync(gz)), image.layers[i]!.diffId);
  }
  assert.deepEqual(await listTags(reg.url, 'interop/podman-dst'), ['v2']);
  // the source repository is untouched
  await assertServes(reg.url, 'interop/podman-src', 'v1', image);

  await podman(['rmi', '--all', '--force']);
  assert.equal(JSON.parse((await podman(['images', '--format', 'json'])).stdout).length, 0);
  await podman(['pull', '--tls-verify=false', dst]);
  const again = JSON.parse((await podman(['image', 'inspect', dst])).stdout)[0];
  assert.equal(again.Digest, served.digest);
  assert.equal(`sha256:${again.Id}`, image.config.digest);
  assert.ok(again.RepoDigests.includes(`${reg.host}/interop/podman-dst@${served.digest}`), JSON.stringify(again.RepoDigests));
});

test('podman push --format v2s2 converts to Docker schema 2 and pulls back by digest', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: ['podman', 'skopeo'], root: true })) return;
  const reg = await startTarget(t);
  const work = await tempDir(t);
  const podman = await privatePodman(t);
  const image = await buildImage({ layers: 2 });
  await writeOciLayout(join(work, 'src'), [{ tag: 'v1', image }]);
  const src = `${reg.host}/interop/podman-oci:v1`;
  await skopeo(['copy', '--dest-tls-verify=false', `oci:${join(work, 'src')}:v1`, `docker://${src}`]);
  await podman(['pull', '--tls-verify=false', `${reg.host}/interop/podman-oci@${image.manifest.digest}`]);

  const dst = `${reg.host}/interop/podman-v2s2:1`;
  await podman(['push', '--tls-verify=false', '--format', 'v2s2', image.config.digest.slice(7), `docker://${dst}`]);
  const served = await getManifest(reg.url, 'interop/podman-v2s2', '1');
  assert.equal(served.status, 200);
  assert.equal(served.contentType, MT.dockerManifest);
  const manifest = JSON.parse(served.bytes.toString('utf8'));
  assert.equal(manifest.mediaType, MT.dockerManifest);
  assert.equal(manifest.config.digest, image.config.digest);

  await podman(['rmi', '--all', '--force']);
  await podman(['pull', '--tls-verify=false', `${reg.host}/interop/podman-v2s2@${served.digest}`]);
  const pulled = JSON.parse((await podman(['image', 'inspect', `${reg.host}/interop/podman-v2s2@${served.digest}`])).stdout)[0];
  assert.equal(pulled.Digest, served.digest);
  assert.deepEqual(pulled.RootFS.Layers, image.layers.map((l) => l.diffId));
});
