import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { startDistribution } from '../helpers/distribution.js';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { need, tempDir } from '../helpers/env.js';
import { buildImage, buildIndex, readOciLayout, sha256, writeDockerArchive, writeOciLayout } from '../helpers/images.js';
import { startRegistry } from '../helpers/registry.js';
import { startS3Server } from '../helpers/s3-server.js';
import { assertServes, canRunDockerd, digestOf, fileScope, skopeo, TEST_TIMEOUT } from '../interop/harness.js';
import { s3Config } from './config.js';

const scope = fileScope();
let dockerd: PrivateDockerd | undefined;
before(async () => {
  if (canRunDockerd()) dockerd = await startDockerd(scope);
}, { timeout: 120_000 });

test('skopeo and docker push to and pull from an S3-backed registry', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: ['skopeo', 'dockerd', 'docker'], root: true })) return;
  const server = await startS3Server(t);
  if (!server) return;
  const bucket = `clients-${randomBytes(4).toString('hex')}`;
  await server.createBucket(bucket);
  const reg = await startRegistry(t, { config: s3Config(server, bucket) });
  const work = await tempDir(t);

  // skopeo: a multi-arch index with a 6 MiB layer (more than one multipart part) and back.
  const index = await buildIndex({ layerSizes: [6 * 1024 * 1024, 1000] });
  await writeOciLayout(join(work, 'src'), [{ tag: 'v1', image: index }]);
  await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${join(work, 'src')}:v1`, `docker://${reg.host}/s3/multi:v1`]);
  await assertServes(reg.url, 's3/multi', 'v1', index);
  await skopeo(['copy', '--all', '--src-tls-verify=false', `docker://${reg.host}/s3/multi:v1`, `oci:${join(work, 'back')}:v1`]);
  const back = await readOciLayout(join(work, 'back'), 'v1');
  assert.equal(back.digest, index.index.digest, 'the index digest survives the S3 round trip');

  // docker: load, push, remove, pull.
  const image = await buildImage({ layers: 2 });
  await writeDockerArchive(join(work, 'image.tar'), image, ['tsdtest/s3:1']);
  const docker = dockerd!.docker;
  await docker(['load', '-i', join(work, 'image.tar')]);
  const ref = `${reg.host}/s3/docker:1`;
  await docker(['tag', 'tsdtest/s3:1', ref]);
  const push = await docker(['push', ref]);
  const pushed = /digest: (sha256:[0-9a-f]{64})/.exec(push.stdout)?.[1];
  assert.ok(pushed, push.stdout);
  assert.equal(await digestOf(reg.url, 's3/docker', '1'), pushed);
  await docker(['rmi', ref, 'tsdtest/s3:1']);
  const pull = await docker(['pull', ref]);
  assert.match(pull.stdout, new RegExp(`Digest: ${pushed}`));
  assert.equal((await docker(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim(), image.config.digest);
  await docker(['rmi', ref]);
});

test("a bucket written by distribution's s3 driver is served by tsdocker-registry", TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: ['skopeo', 'docker-registry'], root: true })) return;
  const server = await startS3Server(t);
  if (!server) return;
  const bucket = `fromdist-${randomBytes(4).toString('hex')}`;
  await server.createBucket(bucket);
  const dist = await startDistribution(t, {
    storage: {
      s3: {
        bucket, region: server.region, regionendpoint: server.endpoint, accesskey: server.accessKey, secretkey: server.secretKey,
        secure: false, v4auth: true, rootdirectory: '/registry',
      },
      delete: { enabled: true },
      redirect: { disable: true },
    },
  });
  const work = await tempDir(t);
  const image = await buildImage({ layerSizes: [7 * 1024 * 1024, 2000] });
  await writeOciLayout(join(work, 'src'), [{ tag: 'v1', image }]);
  await skopeo(['copy', '--format', 'v2s2', '--dest-tls-verify=false', `oci:${join(work, 'src')}:v1`, `docker://${dist.host}/from/dist:v1`]);
  const digest = await digestOf(dist.url, 'from/dist', 'v1');
  await dist.stop();

  const reg = await startRegistry(t, { config: s3Config(server, bucket) });
  assert.equal(await digestOf(reg.url, 'from/dist', 'v1'), digest, 'same manifest digest from the same bucket');
  const catalog = (await (await fetch(`${reg.url}/v2/_catalog`)).json()) as { repositories: string[] };
  assert.deepEqual(catalog.repositories, ['from/dist']);
  // dir: keeps the manifest as served (oci: would convert schema 2 to OCI and change the digest).
  await skopeo(['copy', '--src-tls-verify=false', `docker://${reg.host}/from/dist:v1`, `dir:${join(work, 'pulled')}`]);
  assert.equal(sha256(await readFile(join(work, 'pulled', 'manifest.json'))), digest);
  for (const layer of image.layers) {
    const manifest = JSON.parse((await readFile(join(work, 'pulled', 'manifest.json'))).toString());
    assert.ok(manifest.layers.some((l: { digest: string }) => l.digest === layer.digest), `layer ${layer.digest} kept`);
  }
});
