// tsdocker push and pull through a private dockerd and our registry on loopback: the plain-line
// progress docker prints off a terminal, -q, -a, --platform, errors, and X-Registry-Auth from the
// CLI's config for a registry that wants credentials.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { writeHtpasswd } from '../auth/lib.js';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { need, tempDir } from '../helpers/env.js';
import { buildImage, type TestImage } from '../helpers/images.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { canRunDockerd, digestOf, fileScope, TEST_TIMEOUT } from '../interop/harness.js';
import { archive } from './fixtures.js';
import { clis, show, type Clis } from './harness.js';

const PROGRAMS = ['dockerd', 'docker'];
const scope = fileScope();
let dockerd: PrivateDockerd;
let registry: RunningRegistry;
let cli: Clis;
let work: string;

before(async () => {
  if (!canRunDockerd()) return;
  dockerd = await startDockerd(scope);
  registry = await startRegistry(scope);
  cli = await clis(scope, dockerd);
  work = await tempDir(scope, 'tsd-cli-push-');
}, { timeout: 120_000 });

const layerIdPattern = /^[0-9a-f]{12}$/;

function lines(stdout: string): string[] {
  return stdout.split('\n').filter((l) => l !== '');
}

async function loadAs(image: TestImage, tags: string[]): Promise<void> {
  const r = await cli.tsdocker(['load', '-i', await archive(work, `img-${Math.random().toString(16).slice(2)}`, image, tags)]);
  assert.equal(r.code, 0, show(r));
}

test('push, rmi, pull back: docker\'s plain progress lines, the pushed digest, the same image ID', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const image = await buildImage({ layers: 3, fileSize: 50_000 });
  const ref = `${registry.host}/cli/roundtrip:v1`;
  await loadAs(image, [ref]);

  const push = await cli.tsdocker(['push', ref]);
  assert.equal(push.code, 0, show(push));
  assert.doesNotMatch(push.stdout, /\x1b|\r|\[=/, 'no cursor movement and no progress bars off a terminal');
  const pushed = lines(push.stdout);
  assert.equal(pushed[0], `The push refers to repository [${registry.host}/cli/roundtrip]`);
  const preparing = pushed.filter((l) => l.endsWith(': Preparing')).map((l) => l.split(':')[0]!);
  assert.equal(preparing.length, 3);
  for (const id of preparing) assert.match(id, layerIdPattern);
  assert.deepEqual(pushed.filter((l) => l.endsWith(': Pushed')).map((l) => l.split(':')[0]).sort(), [...preparing].sort());
  const digest = await digestOf(registry.url, 'cli/roundtrip', 'v1');
  assert.match(pushed.at(-1)!, new RegExp(`^v1: digest: ${digest} size: \\d+$`));

  const quiet = await cli.tsdocker(['push', '-q', ref]);
  assert.equal(quiet.code, 0, show(quiet));
  assert.equal(quiet.stdout, `${ref}\n`);

  const rmi = await cli.tsdocker(['rmi', ref]);
  assert.equal(rmi.code, 0, show(rmi));
  assert.match(rmi.stdout, new RegExp(`Deleted: ${image.config.digest}`));

  const pull = await cli.tsdocker(['pull', ref]);
  assert.equal(pull.code, 0, show(pull));
  assert.doesNotMatch(pull.stdout, /\x1b|\r|\[=|Downloading|Extracting/);
  const pulled = lines(pull.stdout);
  assert.equal(pulled[0], 'v1: Pulling from cli/roundtrip');
  const fetching = pulled.filter((l) => l.endsWith(': Pulling fs layer')).map((l) => l.split(':')[0]!);
  assert.equal(fetching.length, 3);
  assert.deepEqual(pulled.filter((l) => l.endsWith(': Pull complete')).map((l) => l.split(':')[0]).sort(), [...fetching].sort());
  assert.deepEqual(pulled.slice(-3), [`Digest: ${digest}`, `Status: Downloaded newer image for ${ref}`, ref]);
  assert.equal((await cli.docker(['inspect', '-f', '{{.Id}}', ref])).stdout, `${image.config.digest}\n`);

  const again = await cli.tsdocker(['pull', ref]);
  assert.deepEqual(lines(again.stdout), ['v1: Pulling from cli/roundtrip', `Digest: ${digest}`, `Status: Image is up to date for ${ref}`, ref]);
  const dockerAgain = await cli.docker(['pull', ref]);
  assert.equal(again.stdout, dockerAgain.stdout, 'the same lines as docker pull');

  const byDigest = await cli.tsdocker(['image', 'pull', '-q', `${registry.host}/cli/roundtrip@${digest}`]);
  assert.equal(byDigest.code, 0, show(byDigest));
  assert.equal(byDigest.stdout, `${registry.host}/cli/roundtrip@${digest}\n`);
  const platform = await cli.tsdocker(['pull', '-q', '--platform', 'linux/amd64', ref]);
  assert.equal(platform.code, 0, show(platform));
  assert.equal(platform.stdout, `${ref}\n`);
});

test('pull -a and push -a move every tag of a repository', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const one = await buildImage({ layers: 1, fileSize: 2000 });
  const two = await buildImage({ layers: 2, fileSize: 2000 });
  const repo = `${registry.host}/cli/alltags`;
  await loadAs(one, [`${repo}:one`]);
  await loadAs(two, [`${repo}:two`]);
  const push = await cli.tsdocker(['image', 'push', '--all-tags', repo]);
  assert.equal(push.code, 0, show(push));
  assert.match(push.stdout, /^one: digest: sha256:[0-9a-f]{64} size: \d+$/m);
  assert.match(push.stdout, /^two: digest: sha256:[0-9a-f]{64} size: \d+$/m);
  assert.doesNotMatch(push.stdout, /Using default tag/);

  await cli.tsdocker(['rmi', `${repo}:one`, `${repo}:two`]);
  const pull = await cli.tsdocker(['pull', '-a', repo]);
  assert.equal(pull.code, 0, show(pull));
  assert.match(pull.stdout, /^one: Pulling from cli\/alltags$/m);
  assert.match(pull.stdout, /^two: Pulling from cli\/alltags$/m);
  assert.equal(lines(pull.stdout).at(-1), repo);
  assert.equal((await cli.tsdocker(['inspect', '-f', '{{.Id}}', `${repo}:one`, `${repo}:two`])).stdout, `${one.config.digest}\n${two.config.digest}\n`);

  for (const command of ['pull', 'push']) {
    const both = await cli.tsdocker([command, '-a', `${repo}:one`]);
    assert.equal(both.code, 1);
    assert.equal(both.stderr, "tag can't be used with --all-tags/-a\n");
  }
});

test('pull and push failures: the daemon\'s message as docker prints it, exit 1', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const cases = [
    ['pull', `${registry.host}/cli/never-pushed:v1`],
    ['pull', `${registry.host}/cli/never-pushed`],
    ['push', `${registry.host}/cli/not-local:v9`],
  ];
  for (const args of cases) {
    const ours = await cli.tsdocker(args);
    const theirs = await cli.docker(args);
    assert.equal(ours.code, 1, show(ours));
    assert.equal(theirs.code, 1, show(theirs));
    assert.equal(ours.stderr, theirs.stderr, args.join(' '));
    assert.equal(ours.stdout, theirs.stdout, args.join(' '));
  }
  const bad = await cli.tsdocker(['pull', 'Bad/Name::']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^invalid reference format/);
  const digestPush = await cli.tsdocker(['push', `${registry.host}/cli/x@sha256:${'a'.repeat(64)}`]);
  assert.equal(digestPush.code, 1);
  assert.equal(digestPush.stderr, 'cannot push a digest reference\n');
});

test('X-Registry-Auth: push and pull to a registry with basic auth use the credentials in --config', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const dir = await tempDir(t);
  const htpasswd = join(dir, 'htpasswd');
  await writeHtpasswd(htpasswd, { alice: 'alice-secret' }, 5);
  const secured = await startRegistry(t, { config: { auth: { htpasswd: { realm: 'cli-test', path: htpasswd } } } });
  const image = await buildImage({ layers: 2, fileSize: 3000 });
  const ref = `${secured.host}/cli/private:1`;
  await loadAs(image, [ref]);

  const anonymous = await cli.tsdocker(['push', ref]);
  const dockerAnonymous = await cli.docker(['push', ref]);
  assert.equal(anonymous.code, 1, show(anonymous));
  assert.equal(anonymous.stderr, dockerAnonymous.stderr);
  assert.equal(anonymous.stderr, 'no basic auth credentials\n');

  // Credentials in a config directory given with --config (not DOCKER_CONFIG).
  const configDir = join(dir, 'elsewhere');
  const login = await cli.tsdocker(['--config', configDir, 'login', '-u', 'alice', '--password-stdin', secured.host], { input: 'alice-secret\n' });
  assert.equal(login.code, 0, show(login));
  const push = await cli.tsdocker(['--config', configDir, 'push', ref]);
  assert.equal(push.code, 0, show(push));
  const manifestUrl = `${secured.url}/v2/cli/private/manifests/1`;
  assert.equal((await fetch(manifestUrl)).status, 401, 'the registry wants credentials');
  const stored = await fetch(manifestUrl, { headers: { authorization: `Basic ${Buffer.from('alice:alice-secret').toString('base64')}`, accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
  assert.equal(stored.status, 200, 'what the push stored');
  assert.match(push.stdout, new RegExp(`^1: digest: ${stored.headers.get('docker-content-digest')} size: \\d+$`, 'm'));
  await cli.tsdocker(['rmi', ref]);
  const pull = await cli.tsdocker(['--config', configDir, 'pull', '-q', ref]);
  assert.equal(pull.code, 0, show(pull));
  assert.equal((await cli.tsdocker(['inspect', '-f', '{{.Id}}', ref])).stdout, `${image.config.digest}\n`);

  // Wrong credentials in the config: the registry's refusal, as docker reports it.
  await cli.tsdocker(['rmi', ref]);
  const wrong = join(dir, 'wrong');
  await cli.tsdocker(['--config', wrong, 'login', '-u', 'alice', '-p', 'alice-secret', secured.host]);
  const config = JSON.parse(await readFile(join(wrong, 'config.json'), 'utf8'));
  config.auths[secured.host].auth = Buffer.from('alice:not-her-password').toString('base64');
  await writeFile(join(wrong, 'config.json'), JSON.stringify(config));
  const refused = await cli.tsdocker(['--config', wrong, 'pull', ref]);
  assert.equal(refused.code, 1, show(refused));
  assert.match(refused.stderr, /^Error response from daemon: .*(unauthorized|401)/i);
});
