import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { need, tempDir } from '../helpers/env.js';
import { buildImage, buildIndex, writeOciLayout } from '../helpers/images.js';
import { run, type RunOptions } from '../helpers/run.js';
import { assertServes, canRunDockerd, fileScope, parseCtrImages, skopeo, startTarget, TEST_TIMEOUT } from './harness.js';

const PROGRAMS = ['dockerd', 'docker', 'ctr', 'skopeo'];
const NAMESPACE = 'tsdtest';
const scope = fileScope();
let dockerd: PrivateDockerd;

before(async () => {
  if (canRunDockerd()) dockerd = await startDockerd(scope);
}, { timeout: 120_000 });

function ctr(args: string[], options?: RunOptions) {
  return run('ctr', ['-a', dockerd.containerdSocket, '-n', NAMESPACE, ...args], options);
}

async function ctrDigest(ref: string): Promise<string | undefined> {
  return parseCtrImages((await ctr(['images', 'ls'])).stdout).get(ref);
}

test('ctr pulls (and unpacks) an image and pushes it to another repository with the same digests', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const reg = await startTarget(t);
  const work = await tempDir(t);
  const image = await buildImage({ layers: 3 });
  await writeOciLayout(join(work, 'src'), [{ tag: 'v1', image }]);
  const src = `${reg.host}/interop/ctr-src:v1`;
  const dst = `${reg.host}/interop/ctr-dst:pushed`;
  t.after(() => ctr(['images', 'rm', src, dst], { allowFailure: true }));
  await skopeo(['copy', '--dest-tls-verify=false', `oci:${join(work, 'src')}:v1`, `docker://${src}`]);

  const pull = await ctr(['images', 'pull', '--plain-http', src]);
  assert.match(pull.stdout, new RegExp(`unpacking linux/amd64 ${image.manifest.digest}`), pull.stdout);
  assert.equal(await ctrDigest(src), image.manifest.digest);
  const check = await ctr(['images', 'check']);
  const line = check.stdout.split('\n').find((l) => l.startsWith(`${src} `)) ?? '';
  // config and every layer present, and unpacked into the snapshotter
  assert.match(line, new RegExp(`${image.manifest.digest} complete \\(${image.layers.length + 1}/${image.layers.length + 1}\\) .* true$`), check.stdout);

  await ctr(['images', 'tag', src, dst]);
  await ctr(['images', 'push', '--plain-http', dst]);
  await assertServes(reg.url, 'interop/ctr-dst', 'pushed', image);
});

test('ctr pulls and pushes a multi-arch index with --all-platforms, digests kept', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const reg = await startTarget(t);
  const work = await tempDir(t);
  const index = await buildIndex();
  await writeOciLayout(join(work, 'src'), [{ tag: 'multi', image: index }]);
  const src = `${reg.host}/interop/ctr-multi:v1`;
  const dst = `${reg.host}/interop/ctr-multi-copy:v1`;
  t.after(() => ctr(['images', 'rm', src, dst], { allowFailure: true }));
  await skopeo(['copy', '--all', '--dest-tls-verify=false', `oci:${join(work, 'src')}:multi`, `docker://${src}`]);

  await ctr(['images', 'pull', '--plain-http', '--all-platforms', src]);
  assert.equal(await ctrDigest(src), index.index.digest);
  await ctr(['images', 'tag', src, dst]);
  await ctr(['images', 'push', '--plain-http', dst]);
  await assertServes(reg.url, 'interop/ctr-multi-copy', 'v1', index);
});
