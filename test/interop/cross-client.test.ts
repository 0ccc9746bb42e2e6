import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { need, tempDir } from '../helpers/env.js';
import { buildImage, readOciLayout, writeDockerArchive } from '../helpers/images.js';
import { run } from '../helpers/run.js';
import { canRunDockerd, digestOf, fileScope, parseCtrImages, privatePodman, skopeo, startTarget, TEST_TIMEOUT } from './harness.js';

const PROGRAMS = ['dockerd', 'docker', 'skopeo', 'podman', 'ctr'];
const scope = fileScope();
let dockerd: PrivateDockerd;

before(async () => {
  if (canRunDockerd()) dockerd = await startDockerd(scope);
}, { timeout: 120_000 });

test('an image pushed by docker is pulled by skopeo, podman and ctr with identical digests', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const reg = await startTarget(t);
  const work = await tempDir(t);
  const image = await buildImage({ layers: 3 });
  const local = `tsdtest/cross:${Date.now()}`;
  const ref = `${reg.host}/interop/cross:1`;
  await writeDockerArchive(join(work, 'image.tar'), image, [local]);
  const docker = dockerd.docker;
  t.after(() => docker(['rmi', '--force', local, ref], { allowFailure: true }));

  await docker(['load', '-i', join(work, 'image.tar')]);
  await docker(['tag', local, ref]);
  const push = await docker(['push', ref]);
  const digest = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
  assert.ok(digest, push.stdout);
  assert.equal(await digestOf(reg.url, 'interop/cross', '1'), digest);
  const manifest = JSON.parse((await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`])).stdout);
  const layers: string[] = manifest.layers.map((l: { digest: string }) => l.digest);
  assert.equal(manifest.config.digest, image.config.digest);

  // skopeo: to a dir (keeps the schema 2 manifest as it is) and to an OCI layout
  const info = JSON.parse((await skopeo(['inspect', '--tls-verify=false', `docker://${ref}`])).stdout);
  assert.equal(info.Digest, digest);
  assert.deepEqual(info.Layers, layers);
  await skopeo(['copy', '--src-tls-verify=false', `docker://${ref}`, `oci:${join(work, 'oci')}:1`]);
  const oci = await readOciLayout(join(work, 'oci'), '1');
  assert.equal(oci.configDigest, image.config.digest);
  assert.deepEqual(oci.layerDigests, layers);

  // podman
  const podman = await privatePodman(t);
  await podman(['pull', '--tls-verify=false', ref]);
  const p = JSON.parse((await podman(['image', 'inspect', ref])).stdout)[0];
  assert.equal(p.Digest, digest);
  assert.equal(`sha256:${p.Id}`, image.config.digest);
  assert.deepEqual(p.RootFS.Layers, image.layers.map((l) => l.diffId));

  // ctr, through the private dockerd's containerd, in its own namespace
  const ctr = (args: string[]) => run('ctr', ['-a', dockerd.containerdSocket, '-n', 'tsdtest-cross', ...args]);
  t.after(() => run('ctr', ['-a', dockerd.containerdSocket, '-n', 'tsdtest-cross', 'images', 'rm', ref], { allowFailure: true }));
  await ctr(['images', 'pull', '--plain-http', ref]);
  assert.equal(parseCtrImages((await ctr(['images', 'ls'])).stdout).get(ref), digest);

  // and docker itself, from a clean state
  await docker(['rmi', ref, local]);
  await docker(['pull', ref]);
  const repoDigests: string[] = JSON.parse((await docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref])).stdout);
  assert.deepEqual(repoDigests, [`${reg.host}/interop/cross@${digest}`]);
});
