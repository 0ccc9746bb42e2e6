// The tsdocker CLI against tsdockerd (not dockerd), end to end: load, images, tag, push (the
// registry then serves the image), rmi, pull (plain per-layer lines off a terminal, -q), inspect,
// history, a save/load round trip, login/logout against a registry with htpasswd, images moving
// between tsdockerd and a real dockerd through our registry with the same digests both ways, and
// the bin files started the ways npm starts them.
import assert from 'node:assert/strict';
import { mkdir, readFile, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { writeHtpasswd } from '../auth/lib.js';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { hasProgram, need, tempDir } from '../helpers/env.js';
import { buildImage, type TestImage } from '../helpers/images.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { startTsdockerd, tsdockerdBin, type RunningTsdockerd } from '../helpers/tsdockerd.js';
import { canRunDockerd, digestOf, fileScope, getBlob, getManifest, skopeo, TEST_TIMEOUT } from '../interop/harness.js';
import { archive } from './fixtures.js';
import { clis, runWithInput, show, tsdockerBin, type Clis } from './harness.js';

const scope = fileScope();
let daemon: RunningTsdockerd;
let registry: RunningRegistry;
let cli: Clis;
let work: string;

before(async () => {
  if (process.getuid?.() !== 0) return;
  daemon = await startTsdockerd(scope);
  registry = await startRegistry(scope);
  cli = await clis(scope, daemon);
  work = await tempDir(scope, 'tsd-cli-e2e-');
}, { timeout: 120_000 });

function lines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l !== '');
}

const shortId = (digest: string) => digest.slice('sha256:'.length, 'sha256:'.length + 12);

async function load(image: TestImage, tags: string[]): Promise<void> {
  const r = await cli.tsdocker(['load', '-i', await archive(work, `img-${Math.random().toString(16).slice(2)}`, image, tags)]);
  assert.equal(r.code, 0, show(r));
  assert.deepEqual(lines(r.stdout), tags.map((tag) => `Loaded image: ${tag}`));
}

test('load, images, tag, push, rmi, pull, inspect and history against tsdockerd', TEST_TIMEOUT, async (t) => {
  if (!need(t, { root: true })) return;
  const image = await buildImage({ layers: 3, fileSize: 20_000 });
  const id = image.config.digest;
  const ref = `${registry.host}/e2e/first:v1`;
  await load(image, [ref]);

  const table = await cli.tsdocker(['images']);
  assert.equal(table.code, 0, show(table));
  const [header, ...rows] = lines(table.stdout);
  assert.match(header!, /^REPOSITORY\s+TAG\s+IMAGE ID\s+CREATED\s+SIZE$/);
  const row = rows.find((r) => r.startsWith(`${registry.host}/e2e/first `));
  assert.ok(row, table.stdout);
  assert.match(row, new RegExp(`^\\S+\\s+v1\\s+${shortId(id)}\\s+\\d+ \\w+ ago\\s+\\d+(\\.\\d+)?kB$`));
  const full = await cli.tsdocker(['images', '-q', '--no-trunc', ref]);
  assert.equal(full.stdout, `${id}\n`, show(full));

  const second = `${registry.host}/e2e/second:v2`;
  const tag = await cli.tsdocker(['tag', ref, second]);
  assert.equal(tag.code, 0, show(tag));
  assert.equal(tag.stdout, '');
  assert.deepEqual(lines((await cli.tsdocker(['images', '-q', '--no-trunc'])).stdout).filter((l) => l === id).length, 2, 'one row per tag');

  const push = await cli.tsdocker(['push', second]);
  assert.equal(push.code, 0, show(push));
  assert.doesNotMatch(push.stdout, /\x1b|\r/);
  const pushed = lines(push.stdout);
  assert.equal(pushed[0], `The push refers to repository [${registry.host}/e2e/second]`);
  assert.equal(pushed.filter((l) => / Pushed$/.test(l)).length, 3, push.stdout);
  const digest = await digestOf(registry.url, 'e2e/second', 'v2');
  assert.equal(pushed.at(-1)?.replace(/ size: \d+$/, ''), `v2: digest: ${digest}`);
  // The registry serves the image: its config is the image, every layer is there.
  const manifest = JSON.parse((await getManifest(registry.url, 'e2e/second', digest)).bytes.toString('utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
  assert.equal(manifest.config.digest, id);
  for (const layer of manifest.layers) await getBlob(registry.url, 'e2e/second', layer.digest);
  if (hasProgram('skopeo')) {
    const inspected = await skopeo(['inspect', '--tls-verify=false', `docker://${second}`]);
    assert.equal((JSON.parse(inspected.stdout) as { Digest: string }).Digest, digest);
  }

  const rmi = await cli.tsdocker(['rmi', ref, second]);
  assert.equal(rmi.code, 0, show(rmi));
  assert.deepEqual(lines(rmi.stdout).slice(0, 1), [`Untagged: ${ref}`]);
  assert.ok(lines(rmi.stdout).includes(`Deleted: ${id}`), rmi.stdout);
  const gone = await cli.tsdocker(['inspect', ref]);
  assert.equal(gone.code, 1);
  assert.equal(gone.stdout, '[]\n');
  assert.equal(gone.stderr, `Error: No such object: ${ref}\n`);

  const pull = await cli.tsdocker(['pull', second]);
  assert.equal(pull.code, 0, show(pull));
  assert.doesNotMatch(pull.stdout, /\x1b|\r|\[=/, 'no cursor movement and no bars off a terminal');
  const pulled = lines(pull.stdout);
  assert.equal(pulled[0], 'v2: Pulling from e2e/second');
  const layerIds = manifest.layers.map((l) => shortId(l.digest)).sort();
  assert.deepEqual(pulled.filter((l) => l.endsWith(': Pulling fs layer')).map((l) => l.split(':')[0]).sort(), layerIds);
  assert.deepEqual(pulled.filter((l) => l.endsWith(': Pull complete')).map((l) => l.split(':')[0]).sort(), layerIds);
  assert.deepEqual(pulled.slice(-3), [`Digest: ${digest}`, `Status: Downloaded newer image for ${second}`, second]);

  const quiet = await cli.tsdocker(['pull', '-q', second]);
  assert.equal(quiet.code, 0, show(quiet));
  assert.equal(quiet.stdout, `${second}\n`);
  const untagged = await cli.tsdocker(['pull', '-q', `${registry.host}/e2e/second`]);
  assert.equal(untagged.code, 1, 'the repository has no latest tag');

  const inspect = await cli.tsdocker(['inspect', second]);
  assert.equal(inspect.code, 0, show(inspect));
  const [object] = JSON.parse(inspect.stdout) as Array<{ Id: string; RepoTags: string[]; RepoDigests: string[]; RootFS: { Layers: string[] } }>;
  assert.equal(object!.Id, id);
  assert.deepEqual(object!.RepoTags, [second]);
  assert.deepEqual(object!.RepoDigests, [`${registry.host}/e2e/second@${digest}`]);
  assert.deepEqual(object!.RootFS.Layers, image.layers.map((l) => l.diffId));
  assert.match(inspect.stdout, /^\[\n    \{\n        "Id": /, 'docker\'s 4-space indentation');
  const formatted = await cli.tsdocker(['image', 'inspect', '-f', '{{.Id}} {{index .RepoDigests 0}} {{len .RootFS.Layers}}', second]);
  assert.equal(formatted.stdout, `${id} ${registry.host}/e2e/second@${digest} 3\n`, show(formatted));

  const history = await cli.tsdocker(['history', second]);
  assert.equal(history.code, 0, show(history));
  const [historyHeader, ...historyRows] = lines(history.stdout);
  assert.match(historyHeader!, /^IMAGE\s+CREATED\s+CREATED BY\s+SIZE\s+COMMENT$/);
  assert.equal(historyRows.length, 3);
  assert.ok(historyRows[0]!.startsWith(`${shortId(id)}   `), history.stdout);
  assert.ok(historyRows.slice(1).every((r) => r.startsWith('<missing>')), history.stdout);
  const createdBy = await cli.tsdocker(['history', '--no-trunc', '--format', '{{.CreatedBy}}', second]);
  const configHistory = (JSON.parse(image.config.bytes.toString('utf8')) as { history: Array<{ created_by: string }> }).history;
  assert.deepEqual(lines(createdBy.stdout), configHistory.map((h) => h.created_by).reverse());
});

test('save and load round trip through tsdockerd: a file and a pipe bring back the same image', TEST_TIMEOUT, async (t) => {
  if (!need(t, { root: true })) return;
  const image = await buildImage({ layers: 2, fileSize: 10_000 });
  const refs = ['tsdtest/e2e-save:a', 'tsdtest/e2e-save:b'];
  await load(image, refs);
  const file = join(work, 'round.tar');
  const save = await cli.tsdocker(['save', '-o', file, ...refs]);
  assert.equal(save.code, 0, show(save));
  assert.ok((await stat(file)).size > 20_000);
  const piped = await cli.tsdocker(['save', refs[0]!]);
  assert.equal(piped.code, 0, show(piped));

  const rmi = await cli.tsdocker(['rmi', ...refs]);
  assert.equal(rmi.code, 0, show(rmi));
  const fromFile = await cli.tsdocker(['load', '-i', file]);
  assert.equal(fromFile.code, 0, show(fromFile));
  assert.deepEqual(lines(fromFile.stdout).sort(), refs.map((r) => `Loaded image: ${r}`));
  assert.equal((await cli.tsdocker(['inspect', '-f', '{{.Id}} {{json .RepoTags}}', refs[0]!])).stdout, `${image.config.digest} ${JSON.stringify(refs)}\n`);

  await cli.tsdocker(['rmi', ...refs]);
  const fromStdin = await cli.tsdocker(['load'], { input: piped.raw });
  assert.equal(fromStdin.code, 0, show(fromStdin));
  assert.equal(fromStdin.stdout, `Loaded image: ${refs[0]}\n`);
  assert.equal((await cli.tsdocker(['images', '-q', '--no-trunc', refs[0]!])).stdout, `${image.config.digest}\n`);
  await cli.tsdocker(['rmi', refs[0]!]);
});

test('login and logout against a registry with htpasswd: tsdockerd checks the credentials, push and pull use them', TEST_TIMEOUT, async (t) => {
  if (!need(t, { root: true })) return;
  const dir = await tempDir(t);
  const htpasswd = join(dir, 'htpasswd');
  await writeHtpasswd(htpasswd, { alice: 'alice pw:1' }, 5);
  const secured = await startRegistry(t, { config: { auth: { htpasswd: { realm: 'e2e', path: htpasswd } } } });
  const image = await buildImage({ layers: 1, fileSize: 4000 });
  const ref = `${secured.host}/e2e/private:1`;
  await load(image, [ref]);

  const wrong = await cli.tsdocker(['login', '-u', 'alice', '--password-stdin', secured.host], { input: 'not it\n' });
  assert.equal(wrong.code, 1, show(wrong));
  assert.match(wrong.stderr, /^Error response from daemon: .*401 Unauthorized/m);
  await assert.rejects(readFile(join(cli.tsConfig, 'config.json'), 'utf8'), 'nothing stored after a refused login');

  const anonymous = await cli.tsdocker(['push', ref]);
  assert.equal(anonymous.code, 1, show(anonymous));

  const login = await cli.tsdocker(['login', '-u', 'alice', '--password-stdin', secured.host], { input: 'alice pw:1\n' });
  assert.equal(login.code, 0, show(login));
  assert.equal(login.stdout, 'Login Succeeded\n');
  const config = JSON.parse(await readFile(join(cli.tsConfig, 'config.json'), 'utf8'));
  assert.deepEqual(config.auths, { [secured.host]: { auth: Buffer.from('alice:alice pw:1').toString('base64') } });

  const push = await cli.tsdocker(['push', ref]);
  assert.equal(push.code, 0, show(push));
  const stored = await fetch(`${secured.url}/v2/e2e/private/manifests/1`, {
    headers: { authorization: `Basic ${Buffer.from('alice:alice pw:1').toString('base64')}`, accept: 'application/vnd.docker.distribution.manifest.v2+json' },
  });
  assert.equal(stored.status, 200);
  await cli.tsdocker(['rmi', ref]);
  const pull = await cli.tsdocker(['pull', '-q', ref]);
  assert.equal(pull.code, 0, show(pull));
  assert.equal((await cli.tsdocker(['inspect', '-f', '{{.Id}}', ref])).stdout, `${image.config.digest}\n`);

  const logout = await cli.tsdocker(['logout', secured.host]);
  assert.equal(logout.code, 0, show(logout));
  assert.equal(logout.stdout, `Removing login credentials for ${secured.host}\n`);
  assert.deepEqual(JSON.parse(await readFile(join(cli.tsConfig, 'config.json'), 'utf8')).auths, {});
  await cli.tsdocker(['rmi', ref]);
  const refused = await cli.tsdocker(['pull', ref]);
  assert.equal(refused.code, 1, show(refused));
  assert.match(refused.stderr, /^Error response from daemon: .*(unauthorized|authentication required)/);
});

test('images move between a real dockerd and tsdockerd through the registry with the same digests', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: ['dockerd', 'docker'], root: true }) || !canRunDockerd()) return;
  const dockerd: PrivateDockerd = await startDockerd(t);

  // docker pushes (it re-compresses: the registry's digest is docker's), tsdocker pulls it.
  const fromDocker = await buildImage({ layers: 2, fileSize: 30_000 });
  const dockerRef = `${registry.host}/e2e/by-docker:1`;
  await dockerd.docker(['load', '-i', await archive(work, 'by-docker', fromDocker, [dockerRef])]);
  await dockerd.docker(['push', dockerRef]);
  const dockerDigest = await digestOf(registry.url, 'e2e/by-docker', '1');
  const pull = await cli.tsdocker(['pull', dockerRef]);
  assert.equal(pull.code, 0, show(pull));
  assert.equal(lines(pull.stdout).find((l) => l.startsWith('Digest: ')), `Digest: ${dockerDigest}`);
  const ours = await cli.tsdocker(['inspect', '-f', '{{.Id}} {{json .RepoDigests}}', dockerRef]);
  const theirs = await dockerd.docker(['inspect', '-f', '{{.Id}} {{json .RepoDigests}}', dockerRef]);
  assert.equal(ours.stdout, theirs.stdout);
  assert.equal(ours.stdout, `${fromDocker.config.digest} ${JSON.stringify([`${registry.host}/e2e/by-docker@${dockerDigest}`])}\n`);

  // tsdocker pushes, docker pulls: the same manifest digest and image ID.
  const fromUs = await buildImage({ layers: 2, fileSize: 30_000 });
  const ourRef = `${registry.host}/e2e/by-tsdocker:1`;
  await load(fromUs, [ourRef]);
  const push = await cli.tsdocker(['push', ourRef]);
  assert.equal(push.code, 0, show(push));
  const ourDigest = await digestOf(registry.url, 'e2e/by-tsdocker', '1');
  assert.match(push.stdout, new RegExp(`^1: digest: ${ourDigest} size: \\d+$`, 'm'));
  const dockerPull = await dockerd.docker(['pull', ourRef]);
  assert.match(dockerPull.stdout, new RegExp(`^Digest: ${ourDigest}$`, 'm'));
  const dockerSees = await dockerd.docker(['inspect', '-f', '{{.Id}} {{json .RepoDigests}}', ourRef]);
  assert.equal(dockerSees.stdout, `${fromUs.config.digest} ${JSON.stringify([`${registry.host}/e2e/by-tsdocker@${ourDigest}`])}\n`);
  assert.equal((await cli.tsdocker(['inspect', '-f', '{{.Id}} {{json .RepoDigests}}', ourRef])).stdout, dockerSees.stdout);
});

test('the bin files run as npm runs them: node FILE, and the executable through a node_modules/.bin symlink', TEST_TIMEOUT, async (t) => {
  if (!need(t, { root: true })) return;
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string; bin: Record<string, string> };
  assert.ok(pkg.bin.tsdocker && pkg.bin.tsdockerd, 'package.json names both programs');
  const binDir = join(await tempDir(t), 'node_modules', '.bin');
  await mkdir(binDir, { recursive: true });
  for (const [name, file] of [['tsdocker', tsdockerBin], ['tsdockerd', tsdockerdBin]] as const) {
    assert.equal((await stat(file)).mode & 0o111, 0o111, `${file} is executable (git keeps the bit)`);
    await symlink(file, join(binDir, name));
  }
  const env = { ...cli.env, DOCKER_CONFIG: cli.tsConfig, PATH: `${binDir}:${process.env.PATH}` };

  const byNode = await runWithInput(process.execPath, [tsdockerBin, '--version'], { env });
  assert.equal(byNode.stdout, `tsdocker version ${pkg.version}\n`, show(byNode));
  const linked = await runWithInput(join(binDir, 'tsdocker'), ['-H', daemon.host, 'version', '--format', '{{.Client.Version}} {{.Server.Version}}'], { env });
  assert.equal(linked.code, 0, show(linked));
  assert.equal(linked.stdout, `${pkg.version} ${pkg.version}\n`);
  const viaEnv = await runWithInput(join(binDir, 'tsdocker'), ['images', '-q'], { env: { ...env, DOCKER_HOST: daemon.host } });
  assert.equal(viaEnv.code, 0, show(viaEnv));
  const daemonVersion = await runWithInput(join(binDir, 'tsdockerd'), ['--version'], { env });
  assert.equal(daemonVersion.code, 0, show(daemonVersion));
  assert.match(daemonVersion.stdout, new RegExp(`\\b${pkg.version.replace(/\./g, '\\.')}\\b`));
  const nowhere = await runWithInput(join(binDir, 'tsdocker'), ['-H', `unix://${join(work, 'no.sock')}`, 'images'], { env });
  assert.equal(nowhere.code, 1);
  assert.equal(nowhere.stderr, `Cannot connect to the tsdocker daemon at unix://${join(work, 'no.sock')}. Is the tsdocker daemon running?\n`);
});
