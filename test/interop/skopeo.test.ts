import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { need, tempDir } from '../helpers/env.js';
import { buildImage, buildIndex, MT, readOciLayout, sha256, writeOciLayout } from '../helpers/images.js';
import { assertServes, getManifest, listTags, skopeo, startTarget, TEST_TIMEOUT } from './harness.js';

const PROGRAMS = ['skopeo'];

test('skopeo copies an OCI image in and out with identical digests', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const reg = await startTarget(t);
  const work = await tempDir(t);
  const image = await buildImage({ layers: 3 });
  await writeOciLayout(join(work, 'src'), [{ tag: 'v1', image }]);

  await skopeo(['copy', '--dest-tls-verify=false', `oci:${join(work, 'src')}:v1`, `docker://${reg.host}/interop/skopeo-oci:v1`]);
  await assertServes(reg.url, 'interop/skopeo-oci', 'v1', image);

  await skopeo(['copy', '--src-tls-verify=false', `docker://${reg.host}/interop/skopeo-oci:v1`, `oci:${join(work, 'back')}:v1`]);
  const back = await readOciLayout(join(work, 'back'), 'v1');
  assert.equal(back.digest, image.manifest.digest);
  assert.equal(back.configDigest, image.config.digest);
  assert.deepEqual(back.layerDigests, image.layers.map((l) => l.digest));
});

test('skopeo --format v2s2 pushes Docker schema 2 and copies it back unchanged', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const reg = await startTarget(t);
  const work = await tempDir(t);
  const image = await buildImage({ layers: 2 });
  await writeOciLayout(join(work, 'src'), [{ tag: 'v1', image }]);
  const ref = `docker://${reg.host}/interop/skopeo-v2s2:v1`;

  await skopeo(['copy', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${join(work, 'src')}:v1`, ref]);
  const served = await getManifest(reg.url, 'interop/skopeo-v2s2', 'v1');
  assert.equal(served.status, 200, served.bytes.toString());
  assert.equal(served.contentType, MT.dockerManifest);
  assert.equal(served.digest, sha256(served.bytes));
  const manifest = JSON.parse(served.bytes.toString('utf8'));
  assert.equal(manifest.mediaType, MT.dockerManifest);
  assert.equal(manifest.config.mediaType, MT.dockerConfig);
  assert.equal(manifest.config.digest, image.config.digest);
  assert.deepEqual(manifest.layers.map((l: { digest: string }) => l.digest), image.layers.map((l) => l.digest));
  assert.deepEqual(manifest.layers.map((l: { mediaType: string }) => l.mediaType), image.layers.map(() => MT.dockerLayerGzip));

  // dir: keeps the manifest exactly as the registry served it.
  await skopeo(['copy', '--src-tls-verify=false', ref, `dir:${join(work, 'dir')}`]);
  const dirManifest = await readFile(join(work, 'dir', 'manifest.json'));
  assert.equal(sha256(dirManifest), served.digest);
  for (const l of image.layers) {
    assert.equal(sha256(await readFile(join(work, 'dir', l.digest.slice(7)))), l.digest);
  }

  await skopeo(['copy', '--src-tls-verify=false', ref, `oci:${join(work, 'back')}:v1`]);
  const back = await readOciLayout(join(work, 'back'), 'v1');
  assert.equal(back.configDigest, image.config.digest);
  assert.deepEqual(back.layerDigests, image.layers.map((l) => l.digest));

  const inspected = JSON.parse((await skopeo(['inspect', '--tls-verify=false', ref])).stdout);
  assert.equal(inspected.Digest, served.digest);
  assert.deepEqual(inspected.Layers, image.layers.map((l) => l.digest));
});

test('skopeo copies a larger image (multi-megabyte layers) intact', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const reg = await startTarget(t);
  const work = await tempDir(t);
  const image = await buildImage({ layerSizes: [9 * 1024 * 1024, 3 * 1024 * 1024 + 17] });
  await writeOciLayout(join(work, 'src'), [{ tag: 'big', image }]);
  await skopeo(['copy', '--dest-tls-verify=false', `oci:${join(work, 'src')}:big`, `docker://${reg.host}/interop/big:big`]);
  await assertServes(reg.url, 'interop/big', 'big', image);
  await skopeo(['copy', '--src-tls-verify=false', `docker://${reg.host}/interop/big:big`, `oci:${join(work, 'back')}:big`]);
  const back = await readOciLayout(join(work, 'back'), 'big');
  assert.equal(back.digest, image.manifest.digest);
});

test('skopeo copy --all pushes and pulls a multi-arch index', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const reg = await startTarget(t);
  const work = await tempDir(t);
  const index = await buildIndex();
  await writeOciLayout(join(work, 'src'), [{ tag: 'multi', image: index }]);
  const ref = `docker://${reg.host}/interop/multi:v1`;

  await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${join(work, 'src')}:multi`, ref]);
  await assertServes(reg.url, 'interop/multi', 'v1', index);

  const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', ref]);
  assert.equal(sha256(Buffer.from(raw.stdout)), index.index.digest, 'skopeo inspect --raw returns the index bytes');
  for (const img of index.images) {
    const child = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/interop/multi@${img.manifest.digest}`]);
    assert.equal(sha256(Buffer.from(child.stdout)), img.manifest.digest);
  }
  const arm = JSON.parse((await skopeo(['inspect', '--override-arch', 'arm64', '--tls-verify=false', ref])).stdout);
  assert.equal(arm.Architecture, 'arm64');
  assert.deepEqual(arm.Layers, index.images[1]!.layers.map((l) => l.digest));

  await skopeo(['copy', '--all', '--src-tls-verify=false', ref, `oci:${join(work, 'back')}:multi`]);
  const back = await readOciLayout(join(work, 'back'), 'multi');
  assert.equal(back.digest, index.index.digest);
  assert.deepEqual(back.children?.map((c) => c.digest), index.images.map((i) => i.manifest.digest));
  assert.deepEqual(back.children?.map((c) => c.layerDigests), index.images.map((i) => i.layers.map((l) => l.digest)));
});

test('skopeo inspect, list-tags and delete', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const reg = await startTarget(t);
  const work = await tempDir(t);
  const a = await buildImage({ layers: 1 });
  const b = await buildImage({ layers: 1 });
  await writeOciLayout(join(work, 'src'), [
    { tag: 'a', image: a },
    { tag: 'b', image: b },
  ]);
  const repo = `${reg.host}/interop/tags`;
  for (const [tag, src] of [['1.0', 'a'], ['latest', 'a'], ['2.0', 'b']] as const) {
    await skopeo(['copy', '--dest-tls-verify=false', `oci:${join(work, 'src')}:${src}`, `docker://${repo}:${tag}`]);
  }

  const tags = JSON.parse((await skopeo(['list-tags', '--tls-verify=false', `docker://${repo}`])).stdout);
  assert.equal(tags.Repository, repo);
  assert.deepEqual([...tags.Tags].sort(), ['1.0', '2.0', 'latest']);
  assert.deepEqual((await listTags(reg.url, 'interop/tags')).sort(), ['1.0', '2.0', 'latest']);

  const info = JSON.parse((await skopeo(['inspect', '--tls-verify=false', `docker://${repo}:latest`])).stdout);
  assert.equal(info.Digest, a.manifest.digest);
  assert.deepEqual(info.Layers, a.layers.map((l) => l.digest));
  assert.equal(info.Labels['org.tsdocker.test.id'], JSON.parse(a.config.bytes.toString()).config.Labels['org.tsdocker.test.id']);
  assert.deepEqual([...info.RepoTags].sort(), ['1.0', '2.0', 'latest']);
  const raw = await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${repo}:2.0`]);
  assert.ok(Buffer.from(raw.stdout).equals(b.manifest.bytes), 'inspect --raw returns the pushed bytes');
  const config = await skopeo(['inspect', '--config', '--raw', '--tls-verify=false', `docker://${repo}:2.0`]);
  assert.ok(Buffer.from(config.stdout).equals(b.config.bytes), 'inspect --config --raw returns the config bytes');

  // Deleting a manifest by digest: neither its digest nor the tags that named it resolve any more;
  // the other image is untouched.
  await skopeo(['delete', '--tls-verify=false', `docker://${repo}@${a.manifest.digest}`]);
  assert.equal((await getManifest(reg.url, 'interop/tags', a.manifest.digest)).status, 404);
  assert.equal((await getManifest(reg.url, 'interop/tags', 'latest')).status, 404);
  assert.equal((await getManifest(reg.url, 'interop/tags', '1.0')).status, 404);
  const gone = await skopeo(['inspect', '--tls-verify=false', `docker://${repo}:latest`], { allowFailure: true });
  assert.notEqual(gone.code, 0, 'inspect of a deleted image fails');
  await assertServes(reg.url, 'interop/tags', '2.0', b);

  // skopeo delete by tag resolves the tag and deletes that manifest.
  await skopeo(['delete', '--tls-verify=false', `docker://${repo}:2.0`]);
  assert.equal((await getManifest(reg.url, 'interop/tags', b.manifest.digest)).status, 404);
});

test('concurrent skopeo pushes of the same blobs and tag all succeed and leave one consistent image', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const reg = await startTarget(t);
  const work = await tempDir(t);
  const image = await buildImage({ layerSizes: [2 * 1024 * 1024, 512 * 1024] });
  await writeOciLayout(join(work, 'src'), [{ tag: 'v1', image }]);
  const push = (repo: string) =>
    skopeo(['copy', '--dest-tls-verify=false', `oci:${join(work, 'src')}:v1`, `docker://${reg.host}/${repo}:v1`]);
  await Promise.all([push('interop/race'), push('interop/race'), push('interop/race'), push('interop/race-other')]);
  await assertServes(reg.url, 'interop/race', 'v1', image);
  await assertServes(reg.url, 'interop/race-other', 'v1', image);
  assert.deepEqual(await listTags(reg.url, 'interop/race'), ['v1']);
});

test('re-pushing a tag moves it; the old image stays reachable by digest; a restart loses nothing', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const reg = await startTarget(t);
  const work = await tempDir(t);
  const a = await buildImage({ layers: 1 });
  const b = await buildImage({ layers: 2 });
  await writeOciLayout(join(work, 'src'), [
    { tag: 'a', image: a },
    { tag: 'b', image: b },
  ]);
  const dest = `docker://${reg.host}/interop/moving:stable`;
  await skopeo(['copy', '--dest-tls-verify=false', `oci:${join(work, 'src')}:a`, dest]);
  await assertServes(reg.url, 'interop/moving', 'stable', a);
  await skopeo(['copy', '--dest-tls-verify=false', `oci:${join(work, 'src')}:b`, dest]);
  await assertServes(reg.url, 'interop/moving', 'stable', b);
  assert.deepEqual(await listTags(reg.url, 'interop/moving'), ['stable']);
  await assertServes(reg.url, 'interop/moving', a.manifest.digest, a);

  // registry to registry within one server (skopeo may mount the blobs across repositories)
  await skopeo(['copy', '--src-tls-verify=false', '--dest-tls-verify=false', dest, `docker://${reg.host}/interop/copied:1`]);
  await assertServes(reg.url, 'interop/copied', '1', b);

  await reg.stop();
  const again = await startTarget(t, { rootDirectory: reg.rootDirectory });
  await assertServes(again.url, 'interop/moving', 'stable', b);
  await assertServes(again.url, 'interop/moving', a.manifest.digest, a);
  await assertServes(again.url, 'interop/copied', '1', b);
  await skopeo(['copy', '--src-tls-verify=false', `docker://${again.host}/interop/moving:stable`, `oci:${join(work, 'back')}:x`]);
  assert.equal((await readOciLayout(join(work, 'back'), 'x')).digest, b.manifest.digest);
});
