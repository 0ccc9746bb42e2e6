// tsdocker's image listing, tagging, inspecting, history and removal against a real dockerd, with
// the real docker CLI's output for the same daemon state as the expected answer.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { need, tempDir } from '../helpers/env.js';
import { buildImage, type TestImage } from '../helpers/images.js';
import { canRunDockerd, fileScope, TEST_TIMEOUT } from '../interop/harness.js';
import { archive, historyImage } from './fixtures.js';
import { asTsdocker, clis, show, sortedLines, tableRows, type Clis } from './harness.js';

const PROGRAMS = ['dockerd', 'docker'];
const scope = fileScope();
let dockerd: PrivateDockerd;
let cli: Clis;
let work: string;
let main: TestImage;
let history: TestImage;
let dangling: TestImage;

before(async () => {
  if (!canRunDockerd()) return;
  dockerd = await startDockerd(scope);
  cli = await clis(scope, dockerd);
  work = await tempDir(scope, 'tsd-cli-images-');
  main = await buildImage({ layers: 3, fileSize: 3000 });
  history = await historyImage();
  dangling = await buildImage({ layers: 1, fileSize: 100 });
}, { timeout: 120_000 });

async function load(file: string): Promise<string> {
  const r = await cli.tsdocker(['load', '-i', file]);
  assert.equal(r.code, 0, show(r));
  return r.stdout;
}

test('load, then images: the table, -q, --no-trunc, --digests, -a and filters print what docker prints', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  assert.equal(await load(await archive(work, 'main', main, ['tsdtest/cli-main:v1', 'tsdtest/cli-other:v2'])), 'Loaded image: tsdtest/cli-main:v1\nLoaded image: tsdtest/cli-other:v2\n');
  assert.equal(await load(await archive(work, 'history', history, ['tsdtest/cli-history:1'])), 'Loaded image: tsdtest/cli-history:1\n');
  assert.equal(await load(await archive(work, 'dangling', dangling, [])), `Loaded image ID: ${dangling.config.digest}\n`);

  const variants = [
    [],
    ['-q'],
    ['--no-trunc'],
    ['--digests'],
    ['-a'],
    ['-q', '--no-trunc'],
    ['tsdtest/cli-main'],
    ['tsdtest/cli-main:v1'],
    ['--filter', 'reference=tsdtest/cli-*'],
    ['--filter=reference=tsdtest/cli-o*:v2'],
    ['-f', 'dangling=true'],
    ['-f', 'dangling=true', '-q', '--no-trunc'],
    ['--filter', 'reference=nothing-like-this'],
    ['--format', 'json'],
    ['--format', 'table'],
    ['--format', 'table {{.Repository}}:{{.Tag}}\\t{{.ID}}\\t{{.CreatedAt}}|{{.Size}}|{{.Containers}}|{{.VirtualSize}}'],
    ['--format', '{{.Repository}}\\t{{.ID | upper}} {{.CreatedSince}}', '--no-trunc'],
    ['-q', '--format', '{{.Tag}}'],
    ['--digests', '--format', 'table {{.Digest}}\\t{{.Tag}}'],
  ];
  for (const args of variants) {
    const ours = await cli.tsdocker(['images', ...args]);
    const theirs = await cli.docker(['images', ...args]);
    assert.equal(ours.code, 0, show(ours));
    assert.equal(theirs.code, 0, show(theirs));
    const rows = args.some((a) => a.startsWith('table')) || !args.some((a) => a === '-q' || a === '--format') ? tableRows : sortedLines;
    assert.deepEqual(rows(ours.stdout), rows(theirs.stdout), `images ${args.join(' ')}`);
    assert.equal(ours.stdout.length, theirs.stdout.length, `images ${args.join(' ')}: same column widths`);
  }
  const table = await cli.tsdocker(['images']);
  assert.match(table.stdout, /^REPOSITORY {3,}TAG {7}IMAGE ID {7}CREATED {7}SIZE\n/);
  assert.match(table.stdout, new RegExp(`\\ntsdtest/cli-main +v1 +${main.config.digest.slice(7, 19)} +\\d+ years ago +\\d`));

  const id = await cli.tsdocker(['images', '-q', '--no-trunc', 'tsdtest/cli-main:v1']);
  assert.equal(id.stdout, `${main.config.digest}\n`);
  const dangle = await cli.tsdocker(['images', '-q', '--no-trunc', '--filter', 'dangling=true']);
  assert.equal(dangle.stdout, `${dangling.config.digest}\n`);

  const badFilter = await cli.tsdocker(['images', '--filter', 'nonsense']);
  assert.equal(badFilter.code, 125, show(badFilter));
  assert.match(badFilter.stderr, /^invalid argument "nonsense" for "-f, --filter" flag: bad format of filter \(expected name=value\)/);
  const unknownFilter = await cli.tsdocker(['images', '--filter', 'colour=red']);
  const dockerUnknown = await cli.docker(['images', '--filter', 'colour=red']);
  assert.equal(unknownFilter.code, 1);
  assert.equal(unknownFilter.stderr, dockerUnknown.stderr, 'the daemon\'s error, as docker prints it');
  const twoArgs = await cli.tsdocker(['images', 'a', 'b']);
  assert.equal(twoArgs.code, 1);
  assert.equal(twoArgs.stderr, "tsdocker: 'tsdocker images' requires at most 1 argument\n\nUsage:  tsdocker images [OPTIONS] [REPOSITORY[:TAG]]\n\nRun 'tsdocker images --help' for more information\n");

  // The `image ls` alias is the same command.
  const ls = await cli.tsdocker(['image', 'ls', '-q', '--no-trunc', 'tsdtest/cli-history']);
  assert.equal(ls.stdout, `${history.config.digest}\n`);
});

test('tag: the new name lists the same image; errors are docker\'s', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  await load(await archive(work, 'tag', main, ['tsdtest/cli-main:v1']));
  const tagged = await cli.tsdocker(['tag', 'tsdtest/cli-main:v1', 'tsdtest/cli-tagged']);
  assert.equal(tagged.code, 0, show(tagged));
  assert.equal(tagged.stdout, '');
  assert.equal((await cli.tsdocker(['images', '-q', '--no-trunc', 'tsdtest/cli-tagged:latest'])).stdout, `${main.config.digest}\n`);
  const viaAlias = await cli.tsdocker(['image', 'tag', main.config.digest, 'localhost:5000/cli/by-id:7']);
  assert.equal(viaAlias.code, 0, show(viaAlias));
  assert.equal((await cli.docker(['images', '-q', '--no-trunc', 'localhost:5000/cli/by-id:7'])).stdout, `${main.config.digest}\n`);

  for (const args of [['tag', 'tsdtest/no-such-image', 'x'], ['tag', 'tsdtest/cli-main:v1', 'BAD::x'], ['tag', 'tsdtest/cli-main:v1'], ['tag']]) {
    const ours = await cli.tsdocker(args);
    const theirs = await cli.docker(args);
    assert.equal(ours.code, theirs.code, `${args.join(' ')}: exit status\n${show(ours)}\n${show(theirs)}`);
    assert.equal(ours.code, 1);
    if (args.length === 3 && args[2] === 'x') assert.equal(ours.stderr, theirs.stderr);
    else if (args[2] === 'BAD::x') assert.match(ours.stderr, /^Error parsing reference: "BAD::x" is not a valid repository\/tag: invalid reference format/);
    else assert.equal(ours.stderr, asTsdocker(theirs.stderr));
  }
  const digestTag = await cli.tsdocker(['tag', 'tsdtest/cli-main:v1', `tsdtest/x@${main.config.digest}`]);
  assert.equal(digestTag.stderr, 'refusing to create a tag with a digest reference\n');
});

test('inspect: the JSON array and --format output are byte for byte docker\'s', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  await load(await archive(work, 'inspect', main, ['tsdtest/cli-main:v1', 'tsdtest/cli-other:v2']));
  await load(await archive(work, 'inspect-h', history, ['tsdtest/cli-history:1']));
  const formats = [
    '{{.Id}}',
    '{{json .RepoTags}}',
    '{{index .RepoTags 0}}',
    '{{.Config.Cmd}}',
    '{{json .Config.Labels}}',
    '{{json .RootFS}}',
    '{{.RootFS.Layers}}',
    '{{.Os}}/{{.Architecture}} {{.Size}}',
    '{{range .RepoTags}}{{.}};{{end}}',
    '{{if .Config.Env}}env{{else}}none{{end}} {{len .RootFS.Layers}}',
    '{{.Config.Labels}}',
  ];
  for (const [command, names] of [[['inspect'], ['tsdtest/cli-main:v1']], [['image', 'inspect'], ['tsdtest/cli-main:v1', 'tsdtest/cli-history:1']], [['inspect'], [main.config.digest.slice(7, 19)]]] as const) {
    const ours = await cli.tsdocker([...command, ...names]);
    const theirs = await cli.docker([...command, ...names]);
    assert.equal(ours.code, 0, show(ours));
    assert.equal(ours.stdout, theirs.stdout, `${command.join(' ')} ${names.join(' ')}`);
    JSON.parse(ours.stdout);
    for (const format of formats) {
      for (const flag of ['--format', '-f']) {
        const o = await cli.tsdocker([...command, flag, format, ...names]);
        const d = await cli.docker([...command, flag, format, ...names]);
        assert.equal(o.code, 0, show(o));
        assert.equal(o.stdout, d.stdout, `${command.join(' ')} ${flag} '${format}'`);
      }
    }
  }
  assert.equal((await cli.tsdocker(['inspect', '-f', '{{.Id}}', 'tsdtest/cli-history:1'])).stdout, `${history.config.digest}\n`);

  // Names that are not there: `[]` (or the found ones), then the errors, exit 1, as docker.
  for (const args of [['inspect', 'tsdtest/nothing'], ['inspect', '-f', '{{.Id}}', 'tsdtest/cli-main:v1', 'tsdtest/nothing'], ['inspect', 'tsdtest/cli-main:v1', 'tsdtest/nothing']]) {
    const ours = await cli.tsdocker(args);
    const theirs = await cli.docker(args);
    assert.equal(ours.code, 1, show(ours));
    assert.equal(ours.stdout, theirs.stdout, args.join(' '));
    assert.equal(ours.stderr, theirs.stderr, args.join(' '));
  }
  const missingKey = await cli.tsdocker(['inspect', '-f', '{{.Config.NoSuchKey}}', 'tsdtest/cli-main:v1']);
  assert.equal(missingKey.code, 1);
  assert.match(missingKey.stderr, /^template parsing error: template: :1:9: executing "" at <\.Config\.NoSuchKey>: map has no entry for key "NoSuchKey"\n$/);
  const badTemplate = await cli.tsdocker(['inspect', '-f', '{{.Id', 'tsdtest/cli-main:v1']);
  assert.equal(badTemplate.code, 1);
  assert.match(badTemplate.stderr, /^template parsing error: /);
});

test('history: every mode prints docker\'s table', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  await load(await archive(work, 'history2', history, ['tsdtest/cli-history:1']));
  await load(await archive(work, 'history3', main, ['tsdtest/cli-main:v1']));
  for (const image of ['tsdtest/cli-history:1', 'tsdtest/cli-main:v1']) {
    const formats = [['--format', 'json'], ['--format', 'table {{.ID}}\\t{{.CreatedAt}}\\t{{.CreatedBy}}\\t{{.Size}}\\t{{.Comment}}'], ['--format', '{{.ID}}: {{.CreatedSince}} {{.Size}}', '-H=false'], ['-q', '--format', '{{.CreatedBy}}', '--no-trunc']];
    for (const args of [[], ['--no-trunc'], ['-H=false'], ['--human=false'], ['--human=true'], ['-q'], ['-q', '--no-trunc'], ['--no-trunc', '-H=false'], ...formats]) {
      const ours = await cli.tsdocker(['history', ...args, image]);
      const theirs = await cli.docker(['history', ...args, image]);
      assert.equal(ours.code, 0, show(ours));
      assert.equal(ours.stdout, theirs.stdout, `history ${args.join(' ')} ${image}`);
    }
  }
  const table = (await cli.tsdocker(['image', 'history', 'tsdtest/cli-history:1'])).stdout.split('\n');
  assert.match(table[0]!, /^IMAGE {10}CREATED {6,}CREATED BY {38}SIZE {6}COMMENT$/);
  assert.match(table[1]!, new RegExp(`^${history.config.digest.slice(7, 19)} .*/bin/sh -c #\\(nop\\)  CMD \\["/bin/sh"\\] +0B +$`));
  assert.match(table[2]!, /RUN \/bin\/sh -c apt-get update && apt-get ins… +\d.*buildkit\.dockerfile\.v0$/);
  assert.match(table[3]!, /^<missing> .*  ENV PATH=\/usr\/local\/bin:\/… +0B +$/);

  const missing = await cli.tsdocker(['history', 'tsdtest/nothing']);
  const dockerMissing = await cli.docker(['history', 'tsdtest/nothing']);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, dockerMissing.stderr);
});

test('rmi: untags and deletes like docker, reports each failure and exits 1', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  // Two like images, so that both CLIs remove tags of an image that keeps another name.
  const image = await buildImage({ layers: 2, fileSize: 500 });
  const twin = await buildImage({ layers: 2, fileSize: 500 });
  await load(await archive(work, 'rmi', image, ['tsdtest/rm-a:1', 'tsdtest/rm-b:1', 'tsdtest/rm-keep:1']));
  await load(await archive(work, 'rmi-twin', twin, ['tsdtest/dk-a:1', 'tsdtest/dk-b:1', 'tsdtest/dk-keep:1']));
  const ours = await cli.tsdocker(['rmi', 'tsdtest/rm-a:1', 'tsdtest/nothing', 'tsdtest/rm-b:1', 'tsdtest/nothing2']);
  const theirs = await cli.docker(['rmi', 'tsdtest/dk-a:1', 'tsdtest/nothing', 'tsdtest/dk-b:1', 'tsdtest/nothing2']);
  assert.equal(ours.code, 1, show(ours));
  assert.equal(theirs.code, 1, show(theirs));
  assert.equal(ours.stdout, 'Untagged: tsdtest/rm-a:1\nUntagged: tsdtest/rm-b:1\n');
  assert.equal(ours.stdout.replace(/rm-/g, 'dk-'), theirs.stdout);
  assert.equal(ours.stderr, theirs.stderr);
  assert.equal(ours.stderr, 'Error response from daemon: No such image: tsdtest/nothing:latest\nError response from daemon: No such image: tsdtest/nothing2:latest\n');

  // The last name goes with the image: both print the Deleted lines of the same layers' chain.
  const last = await cli.tsdocker(['rmi', 'tsdtest/rm-keep:1']);
  const dockerLast = await cli.docker(['rmi', 'tsdtest/dk-keep:1']);
  assert.equal(last.code, 0, show(last));
  assert.match(last.stdout, new RegExp(`^Untagged: tsdtest/rm-keep:1\nDeleted: ${image.config.digest}\n(Deleted: sha256:[0-9a-f]{64}\n){2}$`));
  assert.equal(last.stdout.split('\n').length, dockerLast.stdout.split('\n').length);

  await load(await archive(work, 'rmi-f', image, ['tsdtest/rm-c:1', 'tsdtest/rm-d:1']));
  const byId = await cli.tsdocker(['rmi', image.config.digest.slice(7, 19)]);
  assert.equal(byId.code, 1, 'an ID with several names needs -f');
  assert.match(byId.stderr, /^Error response from daemon: conflict: unable to delete \w+ \(must be forced\) - image is referenced in multiple repositories\n$/);
  const forced = await cli.tsdocker(['image', 'rm', '-f', image.config.digest.slice(7, 19)]);
  assert.equal(forced.code, 0, show(forced));
  const lines = forced.stdout.trim().split('\n');
  assert.deepEqual(lines.filter((l) => l.startsWith('Untagged:')).sort(), ['Untagged: tsdtest/rm-c:1', 'Untagged: tsdtest/rm-d:1']);
  assert.ok(lines.includes(`Deleted: ${image.config.digest}`), forced.stdout);
  assert.equal((await cli.docker(['images', '-q', '--no-trunc', '--filter', 'reference=tsdtest/rm-*'])).stdout, '');

  const none = await cli.tsdocker(['rmi']);
  assert.equal(none.code, 1);
  assert.equal(none.stderr, "tsdocker: 'tsdocker rmi' requires at least 1 argument\n\nUsage:  tsdocker rmi [OPTIONS] IMAGE [IMAGE...]\n\nSee 'tsdocker rmi --help' for more information\n");
});

test('version and info: the daemon\'s part laid out as docker lays it out; --format over the same data', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const info = await cli.tsdocker(['info']);
  const dockerInfo = await cli.docker(['info']);
  assert.equal(info.code, 0, show(info));
  // docker lists runtimes in Go's random map order; we sort them.
  const serverPart = (text: string) =>
    text.slice(text.indexOf('\nServer:\n')).replace(/^ Runtimes: (.*)$/m, (_, names: string) => ` Runtimes: ${names.split(' ').sort().join(' ')}`);
  assert.equal(serverPart(info.stdout), serverPart(dockerInfo.stdout));
  assert.match(info.stdout, /^Client:\n Version: {4}\d+\.\d+\.\d+\n Context: {4}default\n/);

  const version = await cli.tsdocker(['version']);
  const dockerVersion = await cli.docker(['version']);
  assert.equal(version.code, 0, show(version));
  assert.equal(version.stdout.slice(version.stdout.indexOf('\nServer:')), dockerVersion.stdout.slice(dockerVersion.stdout.indexOf('\nServer:')));
  assert.match(version.stdout, /^Client:\n Version: {11}\d+\.\d+\.\d+\n API version: {7}1\.41\n/);

  for (const [command, format] of [['version', '{{.Server.Version}} {{json .Server.Components}}'], ['info', '{{.ServerVersion}} {{.Images}} {{.Driver}} {{.NCPU}} {{.OSType}} {{.DockerRootDir}}'], ['info', '{{json .Plugins.Volume}} {{.MemTotal}}']]) {
    const ours = await cli.tsdocker([command!, '--format', format!]);
    const theirs = await cli.docker([command!, '--format', format!]);
    assert.equal(ours.code, 0, show(ours));
    assert.equal(ours.stdout, theirs.stdout, `${command} --format ${format}`);
  }
});
