import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { need, tempDir } from '../helpers/env.js';
import { buildImage, buildIndex, MT, sha256, writeDockerArchive, writeOciLayout } from '../helpers/images.js';
import { canRunDockerd, digestOf, fileScope, getBlob, getManifest, skopeo, startTarget, TEST_TIMEOUT } from './harness.js';

const PROGRAMS = ['dockerd', 'docker', 'skopeo'];
const scope = fileScope();
let dockerd: PrivateDockerd;

before(async () => {
  if (canRunDockerd()) dockerd = await startDockerd(scope);
}, { timeout: 120_000 });

function pushedDigest(stdout: string): string {
  const m = /digest: (sha256:[0-9a-f]{64}) size: \d+/.exec(stdout);
  assert.ok(m, `docker push printed no digest:\n${stdout}`);
  return m[1]!;
}

test('docker load, push, rmi, pull: the digest survives the round trip', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const reg = await startTarget(t);
  const work = await tempDir(t);
  const image = await buildImage({ layers: 3 });
  const local = `tsdtest/docker-load:${Date.now()}`;
  await writeDockerArchive(join(work, 'image.tar'), image, [local]);
  const docker = dockerd.docker;

  const loaded = await docker(['load', '-i', join(work, 'image.tar')]);
  assert.match(loaded.stdout, /Loaded image: tsdtest\/docker-load/);
  assert.equal((await docker(['image', 'inspect', '--format', '{{.Id}}', local])).stdout.trim(), image.config.digest);

  const ref = `${reg.host}/interop/docker:1`;
  await docker(['tag', local, ref]);
  const push = await docker(['push', ref]);
  const digest = pushedDigest(push.stdout);

  // What the registry holds: a schema 2 manifest with docker's recompressed layers whose content
  // is exactly the fixture's layers (diff_ids), and the fixture's config byte for byte.
  const served = await getManifest(reg.url, 'interop/docker', '1');
  assert.equal(served.status, 200);
  assert.equal(served.digest, digest);
  assert.equal(sha256(served.bytes), digest);
  assert.equal(served.contentType, MT.dockerManifest);
  const manifest = JSON.parse(served.bytes.toString('utf8'));
  assert.equal(manifest.config.digest, image.config.digest);
  assert.ok((await getBlob(reg.url, 'interop/docker', image.config.digest)).equals(image.config.bytes));
  assert.equal(manifest.layers.length, image.layers.length);
  for (const [i, layer] of manifest.layers.entries()) {
    const gz = await getBlob(reg.url, 'interop/docker', layer.digest);
    assert.equal(sha256(gz), layer.digest);
    assert.equal(gz.length, layer.size);
    assert.equal(sha256(gunzipSync(gz)), image.layers[i]!.diffId, `layer ${i} content`);
  }

  await docker(['rmi', ref, local]);
  const gone = await docker(['image', 'inspect', ref], { allowFailure: true });
  assert.notEqual(gone.code, 0, 'image removed before the pull');

  const pull = await docker(['pull', ref]);
  assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
  const repoDigests: string[] = JSON.parse((await docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref])).stdout);
  assert.ok(repoDigests.includes(`${reg.host}/interop/docker@${digest}`), `RepoDigests ${JSON.stringify(repoDigests)}`);
  assert.equal((await docker(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim(), image.config.digest);

  const inspected = JSON.parse((await skopeo(['inspect', '--tls-verify=false', `docker://${ref}`])).stdout);
  assert.equal(inspected.Digest, digest);
  assert.deepEqual(inspected.Layers, manifest.layers.map((l: { digest: string }) => l.digest));

  // Pull by digest as well.
  await docker(['rmi', ref]);
  await docker(['pull', `${reg.host}/interop/docker@${digest}`]);
  assert.equal((await docker(['image', 'inspect', '--format', '{{.Id}}', `${reg.host}/interop/docker@${digest}`])).stdout.trim(), image.config.digest);
  await docker(['rmi', `${reg.host}/interop/docker@${digest}`]);
});

test('docker push to a second repository mounts the blobs it already pushed', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const reg = await startTarget(t);
  const work = await tempDir(t);
  const image = await buildImage({ layers: 2 });
  const local = `tsdtest/docker-mount:${Date.now()}`;
  await writeDockerArchive(join(work, 'image.tar'), image, [local]);
  const docker = dockerd.docker;
  await docker(['load', '-i', join(work, 'image.tar')]);
  t.after(() => docker(['rmi', '--force', local, `${reg.host}/interop/first:1`, `${reg.host}/interop/second:1`], { allowFailure: true }));

  await docker(['tag', local, `${reg.host}/interop/first:1`]);
  const first = pushedDigest((await docker(['push', `${reg.host}/interop/first:1`])).stdout);
  await docker(['tag', local, `${reg.host}/interop/second:1`]);
  const second = await docker(['push', `${reg.host}/interop/second:1`]);
  assert.equal(pushedDigest(second.stdout), first);
  assert.match(second.stdout, /Mounted from interop\/first/, 'docker used a cross-repository mount');
  assert.equal(await digestOf(reg.url, 'interop/second', '1'), first);
  const manifest = JSON.parse((await getManifest(reg.url, 'interop/second', first)).bytes.toString('utf8'));
  for (const l of [manifest.config, ...manifest.layers]) {
    assert.equal(sha256(await getBlob(reg.url, 'interop/second', l.digest)), l.digest);
  }
});

test('docker pulls the linux/amd64 image out of a multi-arch index pushed by skopeo', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const reg = await startTarget(t);
  const work = await tempDir(t);
  const index = await buildIndex();
  await writeOciLayout(join(work, 'src'), [{ tag: 'multi', image: index }]);
  const ref = `${reg.host}/interop/docker-multi:1`;
  await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${join(work, 'src')}:multi`, `docker://${ref}`]);
  const docker = dockerd.docker;
  t.after(() => docker(['rmi', '--force', ref], { allowFailure: true }));

  const pull = await docker(['pull', '--platform', 'linux/amd64', ref]);
  assert.match(pull.stdout, new RegExp(`Digest: ${index.index.digest}`));
  const amd64 = index.images.find((i) => i.platform.architecture === 'amd64')!;
  assert.equal((await docker(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim(), amd64.config.digest);
  const repoDigests: string[] = JSON.parse((await docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref])).stdout);
  assert.ok(repoDigests.includes(`${reg.host}/interop/docker-multi@${index.index.digest}`), JSON.stringify(repoDigests));
});

test('docker pushes and pulls an image with many layers and a large one (parallel transfers)', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const reg = await startTarget(t);
  const work = await tempDir(t);
  const sizes = [8 * 1024 * 1024, ...Array.from({ length: 9 }, (_, i) => 64 * 1024 + i * 4099)];
  const image = await buildImage({ layerSizes: sizes });
  const local = `tsdtest/docker-many:${Date.now()}`;
  const ref = `${reg.host}/interop/many:1`;
  await writeDockerArchive(join(work, 'image.tar'), image, [local]);
  const docker = dockerd.docker;
  t.after(() => docker(['rmi', '--force', local, ref], { allowFailure: true }));
  await docker(['load', '-i', join(work, 'image.tar')]);
  await docker(['tag', local, ref]);
  const digest = pushedDigest((await docker(['push', ref])).stdout);
  const manifest = JSON.parse((await getManifest(reg.url, 'interop/many', digest)).bytes.toString('utf8'));
  assert.equal(manifest.layers.length, sizes.length);
  for (const [i, layer] of manifest.layers.entries()) {
    const gz = await getBlob(reg.url, 'interop/many', layer.digest);
    assert.equal(sha256(gunzipSync(gz)), image.layers[i]!.diffId, `layer ${i} content`);
  }
  await docker(['rmi', ref, local]);
  const pull = await docker(['pull', ref]);
  assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
  assert.equal((await docker(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim(), image.config.digest);
  const diffIds: string[] = JSON.parse((await docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref])).stdout);
  assert.deepEqual(diffIds, image.layers.map((l) => l.diffId));
});
