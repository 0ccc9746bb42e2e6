// Storage layout compatibility with CNCF distribution, proven by real pulls: a directory written
// by one registry is served by the other.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { startDistribution } from '../helpers/distribution.js';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { need, tempDir } from '../helpers/env.js';
import { buildImage, buildIndex, readOciLayout, writeDockerArchive, writeOciLayout, type TestImage, type TestIndex } from '../helpers/images.js';
import { assertServes, canRunDockerd, digestOf, fileScope, listTags, skopeo, startTarget, TEST_TIMEOUT } from './harness.js';

const PROGRAMS = ['docker-registry', 'skopeo', 'dockerd', 'docker'];
const scope = fileScope();
let dockerd: PrivateDockerd;

before(async () => {
  if (canRunDockerd()) dockerd = await startDockerd(scope);
}, { timeout: 120_000 });

interface Fixture {
  oci: TestImage;
  v2s2: TestImage;
  index: TestIndex;
  layout: string;
}

async function fixture(work: string): Promise<Fixture> {
  const oci = await buildImage({ layers: 2 });
  const v2s2 = await buildImage({ layers: 2 });
  const index = await buildIndex();
  const layout = join(work, 'src');
  await writeOciLayout(layout, [
    { tag: 'oci', image: oci },
    { tag: 'v2s2', image: v2s2 },
    { tag: 'index', image: index },
  ]);
  return { oci, v2s2, index, layout };
}

/** Push the fixture with skopeo: an OCI image under two tags, a v2s2 image, a multi-arch index. */
async function pushFixture(host: string, f: Fixture): Promise<{ v2s2Digest: string }> {
  const copy = (extra: string[], tag: string, dest: string) =>
    skopeo(['copy', '--dest-tls-verify=false', ...extra, `oci:${f.layout}:${tag}`, `docker://${host}/${dest}`]);
  await copy([], 'oci', 'compat/app:1.0');
  await copy([], 'oci', 'compat/app:latest');
  await copy(['--format', 'v2s2'], 'v2s2', 'compat/app:docker');
  await copy(['--all'], 'index', 'compat/multi:1');
  const out = await skopeo(['inspect', '--tls-verify=false', `docker://${host}/compat/app:docker`]);
  return { v2s2Digest: JSON.parse(out.stdout).Digest };
}

/** Pull everything back with skopeo, over HTTP, and with docker; every digest must be the original. */
async function pullAndCheck(
  t: { after(fn: () => unknown): void },
  reg: { url: string; host: string },
  f: Fixture,
  v2s2Digest: string,
  work: string,
): Promise<void> {
  assert.deepEqual((await listTags(reg.url, 'compat/app')).sort(), ['1.0', 'docker', 'latest']);
  assert.deepEqual(await listTags(reg.url, 'compat/multi'), ['1']);
  const catalog = (await (await fetch(`${reg.url}/v2/_catalog`)).json()) as { repositories: string[] };
  assert.ok(catalog.repositories.includes('compat/app') && catalog.repositories.includes('compat/multi'), JSON.stringify(catalog));
  await assertServes(reg.url, 'compat/app', '1.0', f.oci);
  await assertServes(reg.url, 'compat/app', 'latest', f.oci);
  await assertServes(reg.url, 'compat/multi', '1', f.index);
  assert.equal(await digestOf(reg.url, 'compat/app', 'docker'), v2s2Digest);

  const out = join(work, `pulled-${reg.host.replace(/[^0-9]/g, '')}`);
  await mkdir(out, { recursive: true });
  await skopeo(['copy', '--src-tls-verify=false', `docker://${reg.host}/compat/app:1.0`, `oci:${join(out, 'oci')}:1.0`]);
  assert.equal((await readOciLayout(join(out, 'oci'), '1.0')).digest, f.oci.manifest.digest);
  await skopeo(['copy', '--all', '--src-tls-verify=false', `docker://${reg.host}/compat/multi:1`, `oci:${join(out, 'multi')}:1`]);
  const multi = await readOciLayout(join(out, 'multi'), '1');
  assert.equal(multi.digest, f.index.index.digest);
  assert.deepEqual(multi.children?.map((c) => c.digest), f.index.images.map((i) => i.manifest.digest));
  const v2 = JSON.parse((await skopeo(['inspect', '--tls-verify=false', `docker://${reg.host}/compat/app:docker`])).stdout);
  assert.equal(v2.Digest, v2s2Digest);
  assert.deepEqual(v2.Layers, f.v2s2.layers.map((l) => l.digest));

  const docker = dockerd.docker;
  for (const [tag, digest, configDigest] of [
    ['1.0', f.oci.manifest.digest, f.oci.config.digest],
    ['docker', v2s2Digest, f.v2s2.config.digest],
  ] as const) {
    const ref = `${reg.host}/compat/app:${tag}`;
    t.after(() => docker(['rmi', '--force', ref], { allowFailure: true }));
    const pull = await docker(['pull', ref]);
    assert.match(pull.stdout, new RegExp(`Digest: ${digest}`));
    assert.equal((await docker(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim(), configDigest);
    await docker(['rmi', ref]);
  }
}

test('a directory written by distribution is served by tsdocker-registry', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const work = await tempDir(t);
  const data = join(work, 'data');
  const f = await fixture(work);
  const dist = await startDistribution(t, { rootDirectory: data });
  const { v2s2Digest } = await pushFixture(dist.host, f);
  await dist.stop();

  const ours = await startTarget(t, { rootDirectory: data });
  await pullAndCheck(t, ours, f, v2s2Digest, work);
});

test('a directory written by tsdocker-registry is served by distribution', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const work = await tempDir(t);
  const data = join(work, 'data');
  const f = await fixture(work);
  const ours = await startTarget(t, { rootDirectory: data });
  const { v2s2Digest } = await pushFixture(ours.host, f);
  // and an image pushed by docker (chunked upload, schema 2, recompressed layers)
  const img = await buildImage({ layers: 2 });
  const local = `tsdtest/compat:${Date.now()}`;
  await writeDockerArchive(join(work, 'image.tar'), img, [local]);
  const docker = dockerd.docker;
  t.after(() => docker(['rmi', '--force', local, `${ours.host}/compat/docker:1`], { allowFailure: true }));
  await docker(['load', '-i', join(work, 'image.tar')]);
  await docker(['tag', local, `${ours.host}/compat/docker:1`]);
  const pushed = /digest: (sha256:[0-9a-f]{64})/.exec((await docker(['push', `${ours.host}/compat/docker:1`])).stdout)?.[1];
  assert.ok(pushed);
  await docker(['rmi', `${ours.host}/compat/docker:1`, local]);
  await ours.stop();

  const dist = await startDistribution(t, { rootDirectory: data });
  await pullAndCheck(t, dist, f, v2s2Digest, work);
  assert.equal(await digestOf(dist.url, 'compat/docker', '1'), pushed);
  const ref = `${dist.host}/compat/docker:1`;
  await docker(['pull', ref]);
  assert.equal((await docker(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim(), img.config.digest);
  const repoDigests: string[] = JSON.parse((await docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', ref])).stdout);
  assert.deepEqual(repoDigests, [`${dist.host}/compat/docker@${pushed}`]);
  await docker(['rmi', ref]);
});
