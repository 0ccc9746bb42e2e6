// pushImage with real peers: CNCF distribution as the registry (monolithic and chunked), skopeo
// reading back what we pushed, the real docker pulling it, and dockerd's own push stream as the
// reference for our progress lines.
import assert from 'node:assert/strict';
import { after, test, type TestContext } from 'node:test';
import { pushImage } from '../../engine/images/push.js';
import type { JSONMessage } from '../../engine/images/json-message.js';
import { need } from '../helpers/env.js';
import { startDistribution } from '../helpers/distribution.js';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { buildImage, writeDockerArchive } from '../helpers/images.js';
import { sharedHooks } from '../helpers/oci-client.js';
import { startRegistry } from '../helpers/registry.js';
import { run } from '../helpers/run.js';
import { tempDir } from '../helpers/env.js';
import { join } from 'node:path';
import { blobBodies, countingProxy, headAndTail, loadDockerArchive, loadOci, registryBlob, registryManifest, sha256, statusesById, tempEngine } from './push-helpers.js';

const shared = sharedHooks();
after(() => shared.cleanup());

let dockerd: Promise<PrivateDockerd> | undefined;
/** One private dockerd for the file, started by the first test that needs it. */
function getDockerd(): Promise<PrivateDockerd> {
  dockerd ??= startDockerd(shared.hooks);
  return dockerd;
}

async function skopeoRaw(ref: string): Promise<Buffer> {
  const r = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
  return Buffer.from(r.stdout, 'utf8');
}

/** dockerd's push stream for NAME:TAG through its API, as the docker CLI receives it. */
async function dockerdPush(d: PrivateDockerd, name: string, tag: string): Promise<JSONMessage[]> {
  const socket = d.host.slice('unix://'.length);
  const r = await run('curl', ['-sS', '--unix-socket', socket, '-X', 'POST', '-H', 'X-Registry-Auth: e30=', `http://localhost/v1.41/images/${name}/push?tag=${tag}`]);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as JSONMessage);
}

test('distribution: a monolithic push, then a chunked one; skopeo reads back the very manifest bytes', async (t: TestContext) => {
  if (!need(t, { programs: ['docker-registry', 'skopeo'] })) return;
  const dist = await startDistribution(t);
  const proxy = await countingProxy(t, dist.host);
  const engine = await tempEngine(t);
  const image = await buildImage({ layerSizes: [400_000, 1000] });
  const tagged = `${proxy.host}/team/mono:v1`;
  await loadOci(t, engine, [{ tag: tagged, image }]);

  const [mono] = await pushImage(engine, tagged);
  assert.equal(mono!.digest, image.manifest.digest);
  assert.ok((await skopeoRaw(`${dist.host}/team/mono:v1`)).equals(image.manifest.bytes));
  assert.equal(blobBodies(proxy.log).length, 3);

  // Chunked, from an engine that knows of no other repository (so nothing can be mounted).
  proxy.log.length = 0;
  const fresh = await tempEngine(t);
  await loadOci(t, fresh, [{ tag: `${proxy.host}/team/chunked:v1`, image }]);
  const [chunked] = await pushImage(fresh, `${proxy.host}/team/chunked:v1`, { chunkSize: 100_000 });
  assert.equal(chunked!.digest, image.manifest.digest);
  const patches = proxy.log.filter((l) => l.method === 'PATCH');
  assert.equal(patches.length, Math.ceil(image.layers[0]!.size / 100_000), JSON.stringify(proxy.log.map((l) => [l.method, l.bytes])));
  assert.equal(proxy.log.filter((l) => l.method === 'POST' && l.path.includes('mount=')).length, 0);
  assert.ok((await skopeoRaw(`${dist.host}/team/chunked:v1`)).equals(image.manifest.bytes));
  for (const b of [image.config, ...image.layers]) assert.ok((await registryBlob(dist.url, 'team/chunked', b.digest)).equals(b.bytes));

  // A third repository on distribution: mounted, not sent.
  proxy.log.length = 0;
  await fresh.images.tag(`${proxy.host}/team/chunked:v1`, `${proxy.host}/team/mounted:v1`);
  const messages: JSONMessage[] = [];
  await pushImage(fresh, `${proxy.host}/team/mounted:v1`, { onMessage: (m) => messages.push(m) });
  assert.deepEqual(blobBodies(proxy.log), []);
  for (const [, statuses] of statusesById(messages)) assert.deepEqual(statuses, ['Preparing', 'Mounted from team/chunked']);
});

test('docker pull of what we pushed works and gets the same manifest digest (OCI gzip and docker-archive images)', async (t: TestContext) => {
  if (!need(t, { programs: ['dockerd', 'docker'] })) return;
  const d = await getDockerd();
  const reg = await startRegistry(t);
  const engine = await tempEngine(t);
  const oci = await buildImage({ layers: 2 });
  const archived = await buildImage({ layers: 2, format: 'docker' });
  await loadOci(t, engine, [{ tag: `${reg.host}/team/pulled:oci`, image: oci }]);
  await loadDockerArchive(t, engine, archived, [`${reg.host}/team/pulled:archive`]);

  const results = await pushImage(engine, `${reg.host}/team/pulled`);
  assert.deepEqual(results.map((r) => r.tag), ['archive', 'oci']);
  for (const r of results) {
    await d.docker(['pull', r.reference]);
    const digests = JSON.parse((await d.docker(['image', 'inspect', '--format', '{{json .RepoDigests}}', r.reference])).stdout) as string[];
    assert.deepEqual(digests, [`${reg.host}/team/pulled@${r.digest}`]);
    const id = (await d.docker(['image', 'inspect', '--format', '{{.Id}}', r.reference])).stdout.trim();
    assert.equal(id, (r.tag === 'oci' ? oci : archived).config.digest, 'docker sees the same image ID');
  }
});

test('our progress lines have dockerd\'s shape: same rows (short DiffIDs, top first), same statuses in the same order, same head and tail', async (t: TestContext) => {
  if (!need(t, { programs: ['dockerd', 'docker', 'curl'] })) return;
  const d = await getDockerd();
  const reg = await startRegistry(t);
  const image = await buildImage({ layers: 7, fileSize: 3000, format: 'docker' });
  const dir = await tempDir(t, 'tsd-push-shape-');
  const archive = join(dir, 'image.tar');
  await writeDockerArchive(archive, image, ['shape:v1']);
  await d.docker(['load', '-i', archive]);
  const engine = await tempEngine(t);
  await loadDockerArchive(t, engine, image, ['shape:v1']);

  const theirs: JSONMessage[][] = [];
  const ours: JSONMessage[][] = [];
  const collect = async (repo: string) => {
    await d.docker(['tag', 'shape:v1', `${reg.host}/docker/${repo}:v1`]);
    theirs.push(await dockerdPush(d, `${reg.host}/docker/${repo}`, 'v1'));
    await engine.images.tag('shape:v1', `${reg.host}/ours/${repo}:v1`);
    const messages: JSONMessage[] = [];
    await pushImage(engine, `${reg.host}/ours/${repo}:v1`, { onMessage: (m) => messages.push(m) });
    ours.push(messages);
  };
  await collect('first'); // uploads (7 layers, 5 at a time: 2 wait)
  await collect('first'); // all there
  await collect('second'); // mounted from */first

  // The reference itself covers each case: uploads with 2 of 7 waiting, all present, all mounted.
  assert.equal(theirs[0]!.filter((m) => m.status === 'Waiting').length, 2);
  assert.equal(theirs[0]!.filter((m) => m.status === 'Pushed').length, 7);
  assert.equal(theirs[1]!.filter((m) => m.status === 'Layer already exists').length, 7);
  assert.equal(theirs[2]!.filter((m) => m.status?.startsWith('Mounted from ')).length, 7);
  for (let i = 0; i < theirs.length; i++) {
    const a = theirs[i]!;
    const b = ours[i]!;
    assert.ok(!a.some((m) => m.error), JSON.stringify(a));
    const rows = (ms: JSONMessage[]) => [...statusesById(ms)].map(([id, s]) => [id, s.map((x) => x.replace(/^Mounted from \w+\//, 'Mounted from */'))]);
    assert.deepEqual(rows(b), rows(a), `push ${i}: rows`);
    const preparing = (ms: JSONMessage[]) => ms.filter((m) => m.status === 'Preparing' || m.status === 'Waiting').map((m) => `${m.status} ${m.id}`);
    assert.deepEqual(preparing(b), preparing(a), `push ${i}: Preparing and Waiting order`);
    const shape = (ms: JSONMessage[]) =>
      headAndTail(ms).map((m) =>
        JSON.stringify(m)
          .replace(/sha256:[a-f0-9]{64}/g, 'D')
          .replace(/size: \d+|"Size":\d+/g, 'N')
          .replace(/\/(docker|ours)\//g, '/R/'),
      );
    assert.deepEqual(shape(b), shape(a), `push ${i}: head and tail`);
    // Every line is keyed as dockerd keys it.
    const keys = (ms: JSONMessage[]) => [...new Set(ms.map((m) => Object.keys(m).join(',')))].sort();
    assert.deepEqual(keys(b), keys(a), `push ${i}: keys`);
  }
  // Our pushed manifest is the stored one (dockerd's recompressed layers give another digest).
  const record = engine.images.resolve('shape:v1').image;
  assert.equal((await registryManifest(reg.url, 'ours/first', 'v1')).digest, record.target.digest);
  assert.equal(sha256((await registryManifest(reg.url, 'ours/second', 'v1')).raw), record.target.digest);
});
