// The real docker CLI against tsdockerd: load, images (and its flags and filters), inspect,
// history, tag, save (round trip into a second daemon), rmi (untag, delete, conflict, shared
// layers kept), image prune, and the error paths.
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import * as tar from 'tar-stream';
import { need, tempDir } from '../helpers/env.js';
import { buildImage, writeDockerArchive, type TestImage } from '../helpers/images.js';
import { sharedHooks } from '../helpers/oci-client.js';
import { startTsdockerd, type RunningTsdockerd } from '../helpers/tsdockerd.js';
import { chainIdsOf, committedSnapshots, composeImage } from './lib.js';

const TIMEOUT = { timeout: 180_000 };
const shared = sharedHooks();
let daemon: RunningTsdockerd | undefined;
let work: string;
let base: TestImage;
const baseTag = 'tsdtest/load:v1';

before(async () => {
  if (process.getuid?.() !== 0) return;
  daemon = await startTsdockerd(shared.hooks);
  work = await tempDir(shared.hooks, 'tsdd-images-');
  base = await buildImage({ layers: 2 });
  await writeDockerArchive(join(work, 'base.tar'), base, [baseTag]);
}, TIMEOUT);
after(() => shared.cleanup());

function ready(t: TestContext): RunningTsdockerd | undefined {
  if (!need(t, { programs: ['docker'], root: true })) return undefined;
  assert.ok(daemon, 'the shared tsdockerd did not start');
  return daemon;
}

async function loaded(d: RunningTsdockerd): Promise<void> {
  const r = await d.docker(['load', '-i', join(work, 'base.tar')]);
  assert.match(r.stdout, new RegExp(`Loaded image: ${baseTag}`));
}

const short = (digest: string) => digest.slice('sha256:'.length, 'sha256:'.length + 12);

test('docker version and docker info are answered by tsdockerd', TIMEOUT, async (t) => {
  const d = ready(t);
  if (!d) return;
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const v = await d.docker(['version', '--format', '{{.Server.Version}} {{.Server.APIVersion}} {{.Server.Os}}/{{.Server.Arch}}']);
  assert.equal(v.stdout.trim(), `${pkg.version} 1.41 linux/${process.arch === 'x64' ? 'amd64' : process.arch}`);
  const info = JSON.parse((await d.docker(['info', '--format', '{{json .}}'])).stdout) as Record<string, unknown>;
  assert.equal(info.DockerRootDir, d.dataRoot);
  assert.ok(info.Driver === 'overlay' || info.Driver === 'vfs', String(info.Driver));
  assert.equal(info.ServerVersion, pkg.version);
  assert.equal(info.NCPU, availableParallelism());
  assert.ok((info.MemTotal as number) > 0);
  assert.equal(info.OSType, 'linux');
  assert.equal(typeof info.OperatingSystem, 'string');
  assert.ok((info.OperatingSystem as string).length > 0);
  assert.equal(typeof info.Images, 'number');
  // The plain `docker info` rendering works too (no template errors, no client-side failure).
  const plain = await d.docker(['info']);
  assert.match(plain.stdout, new RegExp(`Docker Root Dir: ${d.dataRoot}`));
  assert.match(plain.stdout, /Storage Driver: (overlay|vfs)/);
});

test('docker load -i a docker archive; docker images shows it with the right ID, -q --no-trunc, --digests and filters', TIMEOUT, async (t) => {
  const d = ready(t);
  if (!d) return;
  await loaded(d);
  const rows = (await d.docker(['images', '--format', '{{.Repository}}|{{.Tag}}|{{.ID}}|{{.CreatedAt}}'])).stdout.trim().split('\n');
  const row = rows.find((r) => r.startsWith('tsdtest/load|v1|'));
  assert.ok(row, rows.join('\n'));
  assert.equal(row.split('|')[2], short(base.config.digest));
  assert.match(row.split('|')[3]!, /^2024-01-01 00:00:00 \+0000 UTC$/);
  const ids = (await d.docker(['images', '-q', '--no-trunc'])).stdout.trim().split('\n');
  assert.ok(ids.includes(base.config.digest), ids.join('\n'));
  const digests = await d.docker(['images', '--digests', '--format', '{{.Repository}}:{{.Tag}} {{.Digest}}', baseTag]);
  assert.equal(digests.stdout.trim(), `${baseTag} <none>`, 'a docker-archive load has no repo digest');

  const label = JSON.parse(base.config.bytes.toString('utf8')).config.Labels['org.tsdocker.test.id'] as string;
  const q = async (...filters: string[]) => (await d.docker(['images', '-q', '--no-trunc', ...filters.flatMap((f) => ['--filter', f])])).stdout.trim().split('\n').filter(Boolean);
  assert.deepEqual(await q('reference=tsdtest/load'), [base.config.digest]);
  assert.deepEqual(await q('reference=tsdtest/*:v1'), [base.config.digest]);
  assert.deepEqual(await q('reference=nomatch*'), []);
  assert.deepEqual(await q(`label=org.tsdocker.test.id=${label}`), [base.config.digest]);
  assert.deepEqual(await q('label=org.tsdocker.test.id=other'), []);
  assert.ok(!(await q('dangling=true')).includes(base.config.digest));
  assert.ok((await q('dangling=false')).includes(base.config.digest));
  // `docker images NAME` is the reference filter.
  const byName = await d.docker(['images', '--format', '{{.ID}}', 'tsdtest/load']);
  assert.equal(byName.stdout.trim(), short(base.config.digest));
  const bad = await d.docker(['images', '--filter', 'bogus=1'], { allowFailure: true });
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /Error response from daemon: Invalid filter 'bogus'/);
});

test('docker inspect, image inspect --format and history', TIMEOUT, async (t) => {
  const d = ready(t);
  if (!d) return;
  await loaded(d);
  assert.equal((await d.docker(['image', 'inspect', '--format', '{{.Id}}', baseTag])).stdout.trim(), base.config.digest);
  for (const name of [short(base.config.digest), base.config.digest, base.config.digest.slice('sha256:'.length)]) {
    assert.equal((await d.docker(['image', 'inspect', '--format', '{{.Id}}', name])).stdout.trim(), base.config.digest, name);
  }
  const [view] = JSON.parse((await d.docker(['inspect', baseTag])).stdout) as Array<Record<string, any>>;
  assert.equal(view!.Id, base.config.digest);
  assert.deepEqual(view!.RepoTags, [baseTag]);
  assert.deepEqual(view!.RootFS, { Type: 'layers', Layers: base.layers.map((l) => l.diffId) });
  assert.equal(view!.Created, '2024-01-01T00:00:00Z');
  assert.equal(view!.Os, 'linux');
  assert.deepEqual(view!.Config.Cmd, ['/bin/sh']);
  assert.ok(['overlay', 'vfs'].includes(view!.GraphDriver.Name));

  const history = (await d.docker(['history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedBy}}|{{.Size}}', baseTag])).stdout.trim().split('\n');
  assert.equal(history.length, 2);
  assert.equal(history[0]!.split('|')[0], base.config.digest);
  assert.equal(history[0]!.split('|')[1], 'tsdocker test layer 1');
  assert.equal(history[1]!.split('|')[0], '<missing>');
  assert.equal(history[1]!.split('|')[1], 'tsdocker test layer 0');
});

test('docker tag, then rmi: untag by name, conflict by ID without -f, delete with -f', TIMEOUT, async (t) => {
  const d = ready(t);
  if (!d) return;
  const image = await buildImage({ layers: 1 });
  const archive = join(work, 'tagged.tar');
  await writeDockerArchive(archive, image, ['tsdtest/tagme:1']);
  await d.docker(['load', '-i', archive]);
  await d.docker(['tag', 'tsdtest/tagme:1', 'tsdtest/tagged:a']);
  // A name with a registry host and port, and slashes: routed greedily.
  await d.docker(['tag', 'tsdtest/tagme:1', '127.0.0.1:5999/team/app:z']);
  const tags = JSON.parse((await d.docker(['image', 'inspect', '--format', '{{json .RepoTags}}', image.config.digest])).stdout) as string[];
  assert.deepEqual([...tags].sort(), ['127.0.0.1:5999/team/app:z', 'tsdtest/tagged:a', 'tsdtest/tagme:1']);
  assert.equal((await d.docker(['image', 'inspect', '--format', '{{.Id}}', '127.0.0.1:5999/team/app:z'])).stdout.trim(), image.config.digest);

  const conflict = await d.docker(['rmi', short(image.config.digest)], { allowFailure: true });
  assert.equal(conflict.code, 1);
  assert.equal(conflict.stderr.trim(), `Error response from daemon: conflict: unable to delete ${short(image.config.digest)} (must be forced) - image is referenced in multiple repositories`);

  const untag = await d.docker(['rmi', 'tsdtest/tagged:a']);
  assert.equal(untag.stdout.trim(), 'Untagged: tsdtest/tagged:a');
  assert.equal((await d.docker(['image', 'inspect', '--format', '{{.Id}}', 'tsdtest/tagme:1'])).stdout.trim(), image.config.digest);

  const forced = await d.docker(['rmi', '-f', image.config.digest]);
  const lines = forced.stdout.trim().split('\n').sort();
  assert.deepEqual(lines, [`Deleted: ${image.config.digest}`, 'Untagged: 127.0.0.1:5999/team/app:z', 'Untagged: tsdtest/tagme:1']);
  const gone = await d.docker(['image', 'inspect', 'tsdtest/tagme:1'], { allowFailure: true });
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /No such image: tsdtest\/tagme:1/);
});

test('docker save round trip: a second tsdockerd loads the saved tar with the same IDs and tags', TIMEOUT, async (t) => {
  const d = ready(t);
  if (!d) return;
  await loaded(d);
  const other = await buildImage({ layers: 3, format: 'docker' });
  const otherArchive = join(work, 'other.tar');
  await writeDockerArchive(otherArchive, other, ['tsdtest/other:2']);
  await d.docker(['load', '-i', otherArchive]);
  const saved = join(await tempDir(t), 'saved.tar');
  await d.docker(['save', '-o', saved, baseTag, 'tsdtest/other:2']);

  const second = await startTsdockerd(t);
  const load = await second.docker(['load', '-i', saved]);
  assert.match(load.stdout, /Loaded image: tsdtest\/load:v1/);
  assert.match(load.stdout, /Loaded image: tsdtest\/other:2/);
  for (const [name, image] of [[baseTag, base], ['tsdtest/other:2', other]] as const) {
    const [a] = JSON.parse((await d.docker(['image', 'inspect', name])).stdout) as Array<Record<string, unknown>>;
    const [b] = JSON.parse((await second.docker(['image', 'inspect', name])).stdout) as Array<Record<string, unknown>>;
    assert.equal(b!.Id, image.config.digest);
    for (const key of ['Id', 'RepoTags', 'RootFS', 'Created', 'Config', 'Architecture', 'Os']) assert.deepEqual(b![key], a![key], `${name} ${key}`);
  }
  // The second daemon's own save of one image holds exactly that image.
  const single = join(await tempDir(t), 'single.tar');
  await second.docker(['save', '-o', single, 'tsdtest/other:2']);
  const manifest = await tarEntry(await readFile(single), 'manifest.json');
  const entries = JSON.parse(manifest.toString('utf8')) as Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
  assert.equal(entries.length, 1);
  assert.deepEqual(entries[0]!.RepoTags, ['tsdtest/other:2']);
  assert.equal(entries[0]!.Layers.length, 3);
});

async function tarEntry(archive: Buffer, name: string): Promise<Buffer> {
  const extract = tar.extract();
  let found: Buffer | undefined;
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => void chunks.push(c as Buffer));
      stream.on('end', () => {
        if (header.name === name) found = Buffer.concat(chunks);
        next();
      });
    });
    extract.on('finish', () => resolve());
    extract.on('error', reject);
  });
  extract.end(archive);
  await done;
  assert.ok(found, `${name} in the archive`);
  return found;
}

test('rmi keeps the layer snapshots another image shares and removes the rest; images survive a restart', TIMEOUT, async (t) => {
  if (!need(t, { programs: ['docker'], root: true })) return;
  const dir = await tempDir(t);
  const first = await startTsdockerd(t);
  const driver = (await first.docker(['info', '--format', '{{.Driver}}'])).stdout.trim() as 'overlay' | 'vfs';
  const a = await buildImage({ layers: 2 });
  const c = await buildImage({ layers: 1 });
  // b shares a's bottom layer.
  const b = composeImage([a.layers[0]!, c.layers[0]!], 'b');
  await writeDockerArchive(join(dir, 'a.tar'), a, ['tsdtest/share-a:1']);
  await writeDockerArchive(join(dir, 'b.tar'), b, ['tsdtest/share-b:1']);
  await first.docker(['load', '-i', join(dir, 'a.tar')]);
  await first.docker(['load', '-i', join(dir, 'b.tar')]);
  await first.stop();
  const chainsA = chainIdsOf(a.layers.map((l) => l.diffId));
  const chainsB = chainIdsOf(b.layers.map((l) => l.diffId));
  assert.equal(chainsA[0], chainsB[0], 'the fixture shares the bottom layer');
  assert.deepEqual(await committedSnapshots(first.dataRoot, driver), [...new Set([...chainsA, ...chainsB])].sort(), 'load unpacked both images');

  const second = await startTsdockerd(t, { dataRoot: first.dataRoot });
  const listed = (await second.docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).stdout.trim().split('\n').sort();
  assert.deepEqual(listed, ['tsdtest/share-a:1', 'tsdtest/share-b:1'], 'the image table survives a restart');
  const removed = await second.docker(['rmi', 'tsdtest/share-a:1']);
  assert.match(removed.stdout, new RegExp(`Deleted: ${a.config.digest}`));
  await second.stop();
  assert.deepEqual(await committedSnapshots(first.dataRoot, driver), [...chainsB].sort(), 'the shared bottom layer stays for b');

  const third = await startTsdockerd(t, { dataRoot: first.dataRoot });
  await third.docker(['rmi', 'tsdtest/share-b:1']);
  await third.stop();
  assert.deepEqual(await committedSnapshots(first.dataRoot, driver), []);
});

test('docker image prune removes dangling images only; prune -a removes the rest', TIMEOUT, async (t) => {
  if (!need(t, { programs: ['docker'], root: true })) return;
  const d = await startTsdockerd(t);
  const dir = await tempDir(t);
  const old = await buildImage({ layers: 1 });
  const current = await buildImage({ layers: 1 });
  await writeDockerArchive(join(dir, 'old.tar'), old, ['tsdtest/prune:1']);
  await writeDockerArchive(join(dir, 'new.tar'), current, ['tsdtest/prune:1']);
  await d.docker(['load', '-i', join(dir, 'old.tar')]);
  await d.docker(['load', '-i', join(dir, 'new.tar')]);
  // The tag moved: the old image is dangling, listed as <none>.
  const dangling = (await d.docker(['images', '-q', '--no-trunc', '--filter', 'dangling=true'])).stdout.trim();
  assert.equal(dangling, old.config.digest);
  const none = (await d.docker(['images', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'])).stdout;
  assert.match(none, new RegExp(`<none>:<none> ${short(old.config.digest)}`));

  const pruned = await d.docker(['image', 'prune', '-f']);
  assert.match(pruned.stdout, new RegExp(`deleted: ${old.config.digest}`, 'i'));
  assert.match(pruned.stdout, /Total reclaimed space: \d/);
  assert.deepEqual((await d.docker(['images', '-q', '--no-trunc'])).stdout.trim().split('\n'), [current.config.digest]);
  const nothing = await d.docker(['image', 'prune', '-f']);
  assert.match(nothing.stdout, /Total reclaimed space: 0B/);

  const all = await d.docker(['image', 'prune', '-a', '-f']);
  assert.match(all.stdout, /untagged: tsdtest\/prune:1/i);
  assert.match(all.stdout, new RegExp(`deleted: ${current.config.digest}`, 'i'));
  assert.equal((await d.docker(['images', '-q'])).stdout.trim(), '');
});

test('error paths: missing images, bad references, a broken archive changes nothing', TIMEOUT, async (t) => {
  const d = ready(t);
  if (!d) return;
  const fail = async (args: string[], pattern: RegExp) => {
    const r = await d.docker(args, { allowFailure: true });
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(' '));
  };
  await fail(['inspect', 'nosuch'], /^Error: No such object: nosuch$/m);
  await fail(['image', 'inspect', 'nosuch'], /Error response from daemon: No such image: nosuch:latest/);
  await fail(['image', 'inspect', 'BAD..ref'], /Error response from daemon: invalid reference format/);
  await fail(['rmi', 'nosuch:1'], /Error response from daemon: No such image: nosuch:1/);
  await fail(['tag', 'nosuch', 'tsdtest/x:1'], /Error response from daemon: No such image: nosuch:latest/);
  await fail(['history', 'nosuch'], /Error response from daemon: No such image: nosuch:latest/);
  const dir = await tempDir(t);
  await fail(['save', '-o', join(dir, 'x.tar'), 'nosuch'], /Error response from daemon: No such image: nosuch/);

  const before = (await d.docker(['images', '-q', '--no-trunc'])).stdout;
  const garbage = join(dir, 'garbage.tar');
  await writeFile(garbage, Buffer.alloc(4096, 7));
  await fail(['load', '-i', garbage], /Error response from daemon: /);
  // An archive whose layer does not match the config's DiffID.
  const image = await buildImage({ layers: 1 });
  const lying = { ...image, layers: [{ ...image.layers[0]!, tar: (await buildImage({ layers: 1 })).layers[0]!.tar }] };
  const lyingArchive = join(dir, 'lying.tar');
  await writeDockerArchive(lyingArchive, lying, ['tsdtest/lying:1']);
  await fail(['load', '-i', lyingArchive], /Error response from daemon: .*(DiffID|diff)/i);
  assert.equal((await d.docker(['images', '-q', '--no-trunc'])).stdout, before, 'nothing was added');
});
