// tsdocker save and load against a private dockerd: the archive is the bytes `docker save` gives,
// a save/load round trip brings back the same image ID, stdin and -o/-i both work, failures leave
// nothing behind; and `image prune` with docker's prompt and report.
import assert from 'node:assert/strict';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import * as tar from 'tar-stream';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { need, tempDir } from '../helpers/env.js';
import { buildImage } from '../helpers/images.js';
import { canRunDockerd, fileScope, TEST_TIMEOUT } from '../interop/harness.js';
import { archive } from './fixtures.js';
import { asTsdocker, clis, show, type Clis } from './harness.js';

const PROGRAMS = ['dockerd', 'docker'];
const scope = fileScope();
let dockerd: PrivateDockerd;
let cli: Clis;
let work: string;

before(async () => {
  if (!canRunDockerd()) return;
  dockerd = await startDockerd(scope);
  cli = await clis(scope, dockerd);
  work = await tempDir(scope, 'tsd-cli-save-');
}, { timeout: 120_000 });

/** The names in a tar archive and the contents of its manifest.json. */
async function archiveIndex(bytes: Buffer): Promise<{ names: string[]; manifest: Array<{ Config: string; RepoTags: string[] | null }> }> {
  const extract = tar.extract();
  const names: string[] = [];
  let manifest: Buffer | undefined;
  extract.on('entry', (header, stream, next) => {
    names.push(header.name);
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      if (header.name === 'manifest.json') manifest = Buffer.concat(chunks);
      next();
    });
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    extract.end(bytes);
  });
  assert.ok(manifest, `no manifest.json among ${names.join(', ')}`);
  return { names, manifest: JSON.parse(manifest.toString('utf8')) };
}

test('save -o and save to a pipe write what docker save writes; load -i and load from stdin bring the image back', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const image = await buildImage({ layers: 3, fileSize: 20_000 });
  const ref = 'tsdtest/save-me:1';
  const loaded = await cli.tsdocker(['load', '-q', '-i', await archive(work, 'source', image, [ref])]);
  assert.equal(loaded.code, 0, show(loaded));
  assert.equal(loaded.stdout, `Loaded image: ${ref}\n`);

  const file = join(work, 'saved.tar');
  const saved = await cli.tsdocker(['save', '-o', file, ref]);
  assert.equal(saved.code, 0, show(saved));
  assert.equal(saved.stdout, '');
  assert.equal((await stat(file)).mode & 0o777, 0o600, 'written as docker writes it (a private temporary file renamed)');
  assert.deepEqual((await readdir(work)).filter((n) => n.startsWith('.')), [], 'no temporary file left');
  const bytes = await readFile(file);
  const piped = await cli.tsdocker(['image', 'save', ref]);
  assert.equal(piped.code, 0, show(piped));
  assert.ok(piped.raw.equals(bytes), 'the same archive on stdout as in the file');
  const dockers = await cli.docker(['save', ref]);
  assert.ok(dockers.raw.equals(bytes), 'the bytes docker save gives for the same image');
  const index = await archiveIndex(bytes);
  assert.deepEqual(index.manifest.map((m) => m.RepoTags), [[ref]]);
  assert.equal(index.manifest[0]!.Config, `${image.config.digest.slice(7)}.json`);

  const removed = await cli.tsdocker(['rmi', ref]);
  assert.equal(removed.code, 0, show(removed));
  const fromFile = await cli.tsdocker(['load', '-i', file]);
  assert.equal(fromFile.code, 0, show(fromFile));
  assert.equal(fromFile.stdout, `Loaded image: ${ref}\n`);
  assert.equal((await cli.tsdocker(['inspect', '-f', '{{.Id}}', ref])).stdout, `${image.config.digest}\n`);

  await cli.tsdocker(['rmi', ref]);
  const fromStdin = await cli.tsdocker(['image', 'load'], { input: bytes });
  assert.equal(fromStdin.code, 0, show(fromStdin));
  assert.equal(fromStdin.stdout, `Loaded image: ${ref}\n`);
  assert.equal((await cli.tsdocker(['images', '-q', '--no-trunc', ref])).stdout, `${image.config.digest}\n`);
});

test('save of several images, then load: every tag comes back', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const a = await buildImage({ layers: 1, fileSize: 1000 });
  const b = await buildImage({ layers: 2, fileSize: 1000 });
  await cli.tsdocker(['load', '-i', await archive(work, 'a', a, ['tsdtest/multi-a:1'])]);
  await cli.tsdocker(['load', '-i', await archive(work, 'b', b, ['tsdtest/multi-b:1', 'tsdtest/multi-b:2'])]);
  const file = join(work, 'multi.tar');
  const saved = await cli.tsdocker(['save', '--output', file, 'tsdtest/multi-a:1', 'tsdtest/multi-b:1', 'tsdtest/multi-b:2']);
  assert.equal(saved.code, 0, show(saved));
  await cli.tsdocker(['rmi', 'tsdtest/multi-a:1', 'tsdtest/multi-b:1', 'tsdtest/multi-b:2']);
  const loaded = await cli.tsdocker(['load', '-i', file]);
  assert.equal(loaded.code, 0, show(loaded));
  assert.deepEqual(loaded.stdout.split('\n').filter(Boolean).sort(), ['Loaded image: tsdtest/multi-a:1', 'Loaded image: tsdtest/multi-b:1', 'Loaded image: tsdtest/multi-b:2']);
  assert.equal((await cli.tsdocker(['inspect', '-f', '{{.Id}}', 'tsdtest/multi-a:1', 'tsdtest/multi-b:2'])).stdout, `${a.config.digest}\n${b.config.digest}\n`);
});

test('save and load failures print docker\'s messages, exit 1 and leave no file', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const dir = await tempDir(t);
  const garbage = join(dir, 'garbage.tar');
  await writeFile(garbage, 'this is not a tar archive\n');
  const missingFile = join(dir, 'missing.tar');
  for (const args of [['save', 'tsdtest/nothing'], ['save', '-o', join(dir, 'out.tar'), 'tsdtest/nothing'], ['load', '-i', missingFile], ['load', '-i', garbage], ['save'], ['load', 'extra']]) {
    const ours = await cli.tsdocker(args);
    const theirs = await cli.docker(args);
    assert.equal(ours.code, 1, `${args.join(' ')}\n${show(ours)}`);
    assert.equal(theirs.code, 1, show(theirs));
    assert.equal(ours.stderr, asTsdocker(theirs.stderr), args.join(' '));
    assert.equal(ours.stdout, '');
  }
  assert.deepEqual((await readdir(dir)).sort(), ['garbage.tar'], 'nothing written by a failed save');
});

test('image prune: docker\'s prompt, report and reclaimed space; -a removes unused tagged images too', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  // Twins: two untagged images of the same shape, one pruned by each CLI.
  const ours = await buildImage({ layers: 2, fileSize: 4000 });
  const theirs = await buildImage({ layers: 2, fileSize: 4000 });
  await cli.tsdocker(['load', '-i', await archive(work, 'dangling-ours', ours, [])]);

  const declined = await cli.tsdocker(['image', 'prune'], { input: 'n\n' });
  assert.equal(declined.code, 0, show(declined));
  assert.equal(declined.stdout, 'WARNING! This will remove all dangling images.\nAre you sure you want to continue? [y/N] ');
  const noAnswer = await cli.tsdocker(['image', 'prune']);
  assert.equal(noAnswer.stdout, declined.stdout, 'end of input is no');
  assert.equal((await cli.tsdocker(['images', '-q', '--no-trunc', '-f', 'dangling=true'])).stdout, `${ours.config.digest}\n`);

  const accepted = await cli.tsdocker(['image', 'prune'], { input: 'y\n' });
  assert.equal(accepted.code, 0, show(accepted));
  await cli.tsdocker(['load', '-i', await archive(work, 'dangling-theirs', theirs, [])]);
  const dockerPrune = await cli.docker(['image', 'prune'], { input: 'y\n' });
  const normalise = (text: string) => text.replace(/sha256:[0-9a-f]{64}/g, 'sha256:X');
  assert.equal(normalise(accepted.stdout), normalise(dockerPrune.stdout));
  assert.match(accepted.stdout, new RegExp(`Deleted Images:\\ndeleted: ${ours.config.digest}\\n(deleted: sha256:[0-9a-f]{64}\\n)+\\nTotal reclaimed space: [\\d.]+kB\\n$`));

  const nothing = await cli.tsdocker(['image', 'prune', '-f']);
  assert.equal(nothing.stdout, 'Total reclaimed space: 0B\n');

  const tagged = await buildImage({ layers: 1, fileSize: 100 });
  await cli.tsdocker(['load', '-i', await archive(work, 'tagged', tagged, ['tsdtest/unused:1'])]);
  const all = await cli.tsdocker(['image', 'prune', '-a', '--force']);
  assert.equal(all.code, 0, show(all));
  assert.match(all.stdout, /^Deleted Images:\n/);
  assert.match(all.stdout, /^untagged: tsdtest\/unused:1\n/m);
  assert.equal((await cli.tsdocker(['images', '-q'])).stdout, '', 'no image is used by a container, so -a removes them all');
  const extra = await cli.tsdocker(['image', 'prune', 'x']);
  assert.equal(extra.code, 1);
  assert.equal(extra.stderr, "tsdocker: 'tsdocker image prune' accepts no arguments\n\nUsage:  tsdocker image prune [OPTIONS]\n\nRun 'tsdocker image prune --help' for more information\n");
});
