// Interop with the real docker CLI + a private dockerd, and skopeo.
import assert from 'node:assert/strict';
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { test } from 'node:test';
import type { Writable } from 'node:stream';
import { ImageStore, load, save, saveOci } from '../../../engine/images/index.js';
import { need, tempDir } from '../../helpers/env.js';
import { startDockerd } from '../../helpers/dockerd.js';
import { buildImage, writeDockerArchive } from '../../helpers/images.js';
import { run } from '../../helpers/run.js';
import { record, storedImage } from './lib.js';

async function saveTo(file: string, fn: (out: Writable) => Promise<void>): Promise<void> {
  const out = createWriteStream(file);
  await fn(out);
  out.end();
  await finished(out);
}

test('docker load reads our save; we load what docker save writes', { timeout: 240_000 }, async (t) => {
  if (!need(t, { programs: ['dockerd', 'docker'], root: true })) return;
  const dir = await tempDir(t);
  const dockerd = await startDockerd(t);

  // Ours -> docker: same ID and tags.
  const store = await ImageStore.open(join(dir, 'ours'));
  const img = await storedImage(store, { layers: 2 });
  const r = await record(store, img, ['tsd/ours:1', 'localhost:5000/tsd/ours:2']);
  const file = join(dir, 'ours.tar');
  await saveTo(file, (out) => save(store, ['tsd/ours:1', 'localhost:5000/tsd/ours:2'], out));
  const loaded = await dockerd.docker(['load', '-i', file]);
  assert.match(loaded.stdout, /Loaded image: tsd\/ours:1/);
  const inspect = JSON.parse((await dockerd.docker(['image', 'inspect', 'tsd/ours:1'])).stdout)[0];
  assert.equal(inspect.Id, r.id);
  assert.deepEqual([...inspect.RepoTags].sort(), ['localhost:5000/tsd/ours:2', 'tsd/ours:1']);
  assert.deepEqual(inspect.RootFS.Layers, r.diffIds);

  // docker -> ours: an image docker loaded (from a classic archive) and saved again.
  const theirs = await buildImage({ format: 'docker', layers: 2 });
  const classic = join(dir, 'classic.tar');
  await writeDockerArchive(classic, theirs, ['tsd/theirs:1']);
  await dockerd.docker(['load', '-i', classic]);
  const dockerSaved = join(dir, 'docker-saved.tar');
  await dockerd.docker(['save', '-o', dockerSaved, 'tsd/theirs:1']);
  const mine = await ImageStore.open(join(dir, 'mine'));
  const result = await load(mine, createReadStream(dockerSaved));
  const dockerId = JSON.parse((await dockerd.docker(['image', 'inspect', 'tsd/theirs:1'])).stdout)[0].Id;
  assert.equal(result.images[0]!.id, dockerId);
  assert.equal(dockerId, theirs.config.digest);
  assert.deepEqual(mine.get(theirs.config.digest as never)!.repoTags, ['docker.io/tsd/theirs:1']);
  assert.deepEqual((await mine.inspect('tsd/theirs:1')).RootFS.Layers, theirs.layers.map((l) => l.diffId));

  // And back: our save of docker's image loads into docker again under the same ID.
  await dockerd.docker(['rmi', 'tsd/theirs:1']);
  const back = join(dir, 'back.tar');
  await saveTo(back, (out) => save(mine, ['tsd/theirs:1'], out));
  await dockerd.docker(['load', '-i', back]);
  assert.equal(JSON.parse((await dockerd.docker(['image', 'inspect', 'tsd/theirs:1'])).stdout)[0].Id, dockerId);
});

test('skopeo reads our OCI layout and our docker archive', { timeout: 120_000 }, async (t) => {
  if (!need(t, { programs: ['skopeo'] })) return;
  const dir = await tempDir(t);
  const store = await ImageStore.open(join(dir, 'data'));
  const img = await storedImage(store, { layers: 2 });
  const r = await record(store, img, ['tsd/sko:v1']);
  const oci = join(dir, 'oci.tar');
  await saveTo(oci, (out) => saveOci(store, ['tsd/sko:v1'], out));
  const viaOci = JSON.parse((await run('skopeo', ['inspect', `oci-archive:${oci}:v1`])).stdout);
  assert.equal(viaOci.Digest, r.manifest.digest);
  assert.deepEqual(viaOci.Layers, r.layers.map((l) => l.digest));
  const archive = join(dir, 'docker.tar');
  await saveTo(archive, (out) => save(store, ['tsd/sko:v1'], out));
  const viaDocker = JSON.parse((await run('skopeo', ['inspect', '--config', `docker-archive:${archive}`])).stdout);
  assert.deepEqual(viaDocker.rootfs.diff_ids, r.diffIds);
  // skopeo copies our OCI archive into a layout directory that we load back with the same ID.
  const layoutDir = join(dir, 'layout');
  await run('skopeo', ['copy', `oci-archive:${oci}:v1`, `oci:${layoutDir}:copied`]);
  await run('tar', ['-C', layoutDir, '-cf', join(dir, 'copied.tar'), '.']);
  const again = await ImageStore.open(join(dir, 'again'));
  await load(again, createReadStream(join(dir, 'copied.tar')), { repository: 'tsd/copied' });
  assert.equal(again.resolve('tsd/copied:copied').image.id, r.id);
});
