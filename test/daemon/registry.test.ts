// tsdockerd against local registries, driven by the docker CLI: pull (by tag, by digest, a
// platform of an index, every tag, a missing tag), push (then pull back), docker login against an
// htpasswd registry, and pull/push with the credentials the CLI sends as X-Registry-Auth.
// The pull and push tests exercise engine/images/pull.ts and push.ts through the daemon.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { basic, password, writeHtpasswd } from '../auth/lib.js';
import { need, tempDir } from '../helpers/env.js';
import { buildImage, buildIndex, sha256, writeDockerArchive, writeOciLayout, type TestImage, type TestIndex } from '../helpers/images.js';
import { sharedHooks } from '../helpers/oci-client.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { startTsdockerd, type RunningTsdockerd } from '../helpers/tsdockerd.js';
import { getBlob, getManifest, skopeo } from '../interop/harness.js';
import { api, messages } from './lib.js';

const TIMEOUT = { timeout: 180_000 };
const shared = sharedHooks();
let daemon: RunningTsdockerd | undefined;
let registry: RunningRegistry | undefined;
let secured: RunningRegistry | undefined;
let work: string;
const users = { alice: password('alice') };

before(async () => {
  if (process.getuid?.() !== 0) return;
  work = await tempDir(shared.hooks, 'tsdd-reg-');
  registry = await startRegistry(shared.hooks);
  const htpasswd = join(work, 'htpasswd');
  await writeHtpasswd(htpasswd, users);
  secured = await startRegistry(shared.hooks, { config: { auth: { htpasswd: { realm: 'tsdockerd test', path: htpasswd } } } });
  daemon = await startTsdockerd(shared.hooks);
}, TIMEOUT);
after(() => shared.cleanup());

function ready(t: TestContext, programs = ['docker', 'skopeo']): { d: RunningTsdockerd; reg: RunningRegistry; auth: RunningRegistry } | undefined {
  if (!need(t, { programs, root: true })) return undefined;
  assert.ok(daemon && registry && secured, 'the shared daemon and registries did not start');
  return { d: daemon, reg: registry, auth: secured };
}

/** Put an image (or index) into a registry with skopeo, from an OCI layout. */
async function seed(reg: RunningRegistry, repo: string, tag: string, item: TestImage | TestIndex, creds?: string): Promise<void> {
  const dir = await tempDir(shared.hooks, 'tsdd-seed-');
  await writeOciLayout(dir, [{ tag, image: item }]);
  // --all: an index is copied whole (skopeo copies only this host's image otherwise).
  await skopeo(['copy', '--all', '--dest-tls-verify=false', ...(creds ? ['--dest-creds', creds] : []), `oci:${dir}:${tag}`, `docker://${reg.host}/${repo}:${tag}`]);
}

const inspect = async (d: RunningTsdockerd, name: string, format: string) => (await d.docker(['image', 'inspect', '--format', format, name])).stdout.trim();

test('docker pull by tag: Digest and Status lines, the image ID and repo digest; pulling again is up to date', TIMEOUT, async (t) => {
  const ctx = ready(t);
  if (!ctx) return;
  const { d, reg } = ctx;
  const image = await buildImage({ layers: 2 });
  await seed(reg, 'daemon/pull', 'v1', image);
  const ref = `${reg.host}/daemon/pull:v1`;
  const pull = await d.docker(['pull', ref]);
  assert.match(pull.stdout, new RegExp(`Digest: ${image.manifest.digest}`));
  assert.match(pull.stdout, new RegExp(`Status: Downloaded newer image for ${ref}`));
  // The closing lines once, whether the pipeline or the daemon wrote them.
  assert.equal(pull.stdout.split('\n').filter((l) => l.startsWith('Digest: ')).length, 1, pull.stdout);
  assert.equal(pull.stdout.split('\n').filter((l) => l.startsWith('Status: ')).length, 1, pull.stdout);
  assert.equal(await inspect(d, ref, '{{.Id}}'), image.config.digest);
  const repoDigests = JSON.parse(await inspect(d, ref, '{{json .RepoDigests}}')) as string[];
  assert.ok(repoDigests.includes(`${reg.host}/daemon/pull@${image.manifest.digest}`), JSON.stringify(repoDigests));
  const again = await d.docker(['pull', ref]);
  assert.match(again.stdout, new RegExp(`Status: Image is up to date for ${ref}`));
  // Pulled content is usable: it saves and the IDs survive.
  const saved = join(await tempDir(t), 'pulled.tar');
  await d.docker(['save', '-o', saved, ref]);
  assert.ok((await readFile(saved)).length > 1024);
});

test('docker pull by digest, a platform of a multi-arch index, and every tag (-a)', TIMEOUT, async (t) => {
  const ctx = ready(t);
  if (!ctx) return;
  const { d, reg } = ctx;
  const image = await buildImage({ layers: 1 });
  await seed(reg, 'daemon/bydigest', 'x', image);
  const byDigest = `${reg.host}/daemon/bydigest@${image.manifest.digest}`;
  await d.docker(['pull', byDigest]);
  assert.equal(await inspect(d, byDigest, '{{.Id}}'), image.config.digest);

  const index = await buildIndex({ layers: 1 });
  await seed(reg, 'daemon/multi', 'm', index);
  await d.docker(['pull', '--platform', 'linux/arm64', `${reg.host}/daemon/multi:m`]);
  const arm = index.images.find((i) => i.platform.architecture === 'arm64')!;
  assert.equal(await inspect(d, `${reg.host}/daemon/multi:m`, '{{.Id}} {{.Architecture}}'), `${arm.config.digest} arm64`);

  const one = await buildImage({ layers: 1 });
  const two = await buildImage({ layers: 1 });
  await seed(reg, 'daemon/alltags', 'one', one);
  await seed(reg, 'daemon/alltags', 'two', two);
  const all = await d.docker(['pull', '-a', `${reg.host}/daemon/alltags`]);
  assert.match(all.stdout, new RegExp(`Downloaded newer image for ${reg.host}/daemon/alltags`));
  assert.equal(await inspect(d, `${reg.host}/daemon/alltags:one`, '{{.Id}}'), one.config.digest);
  assert.equal(await inspect(d, `${reg.host}/daemon/alltags:two`, '{{.Id}}'), two.config.digest);
});

test('docker pull of a missing tag fails with the registry reason and adds nothing', TIMEOUT, async (t) => {
  const ctx = ready(t);
  if (!ctx) return;
  const { d, reg } = ctx;
  const before = (await d.docker(['images', '-q', '--no-trunc'])).stdout;
  const r = await d.docker(['pull', `${reg.host}/daemon/nosuch:v9`], { allowFailure: true });
  assert.equal(r.code, 1);
  assert.match(r.stderr + r.stdout, /manifest unknown|not found/i);
  assert.equal((await d.docker(['images', '-q', '--no-trunc'])).stdout, before);
});

test('docker push: the registry serves the image (config and layer content); rmi and pull back give the same ID', TIMEOUT, async (t) => {
  const ctx = ready(t);
  if (!ctx) return;
  const { d, reg } = ctx;
  const image = await buildImage({ layers: 2 });
  const archive = join(await tempDir(t), 'push.tar');
  await writeDockerArchive(archive, image, ['tsdtest/push:1']);
  await d.docker(['load', '-i', archive]);
  const ref = `${reg.host}/daemon/push:v1`;
  await d.docker(['tag', 'tsdtest/push:1', ref]);
  const push = await d.docker(['push', ref]);
  const m = /v1: digest: (sha256:[0-9a-f]{64}) size: (\d+)/.exec(push.stdout);
  assert.ok(m, push.stdout);
  assert.equal(push.stdout.split('\n').filter((l) => /: digest: sha256:/.test(l)).length, 1, push.stdout);
  const served = await getManifest(reg.url, 'daemon/push', 'v1');
  assert.equal(served.status, 200);
  assert.equal(served.digest, m[1]);
  assert.equal(sha256(served.bytes), m[1]);
  assert.equal(served.bytes.length, Number(m[2]));
  const manifest = JSON.parse(served.bytes.toString('utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
  assert.equal(manifest.config.digest, image.config.digest);
  assert.ok((await getBlob(reg.url, 'daemon/push', image.config.digest)).equals(image.config.bytes));
  for (const [i, layer] of manifest.layers.entries()) {
    const blob = await getBlob(reg.url, 'daemon/push', layer.digest);
    const content = blob[0] === 0x1f && blob[1] === 0x8b ? gunzipSync(blob) : blob;
    assert.equal(sha256(content), image.layers[i]!.diffId, `layer ${i}`);
  }
  await d.docker(['rmi', ref, 'tsdtest/push:1']);
  await d.docker(['pull', ref]);
  assert.equal(await inspect(d, ref, '{{.Id}}'), image.config.digest);

  const missing = await d.docker(['push', `${reg.host}/daemon/never:1`], { allowFailure: true });
  assert.equal(missing.code, 1);
  assert.match(missing.stderr + missing.stdout, /does not exist|No such image/i);
});

test('docker login against an htpasswd registry: the right password succeeds (the CLI stores it), a wrong one is a 401', TIMEOUT, async (t) => {
  const ctx = ready(t, ['docker']);
  if (!ctx) return;
  const { d, auth } = ctx;
  const ok = await d.docker(['login', auth.host, '-u', 'alice', '-p', users.alice]);
  assert.match(ok.stdout, /Login Succeeded/);
  const stored = JSON.parse(await readFile(join(d.dockerConfig, 'config.json'), 'utf8')) as { auths: Record<string, { auth?: string }> };
  assert.equal(Buffer.from(stored.auths[auth.host]!.auth!, 'base64').toString('utf8'), `alice:${users.alice}`);

  const wrong = await d.docker(['login', auth.host, '-u', 'alice', '-p', 'wrong-password'], { allowFailure: true });
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, new RegExp(`Error response from daemon: login attempt to http://${auth.host}/v2/ failed with status: 401 Unauthorized`));
  const raw = await api(d.socket, 'POST', '/v1.41/auth', { body: JSON.stringify({ username: 'bob', password: 'x', serveraddress: `http://${auth.host}/v2/` }), headers: { 'Content-Type': 'application/json' } });
  assert.equal(raw.status, 401);
  assert.deepEqual(raw.json(), { message: `login attempt to http://${auth.host}/v2/ failed with status: 401 Unauthorized` });
  const good = await api(d.socket, 'POST', '/v1.41/auth', { body: JSON.stringify({ username: 'alice', password: users.alice, serveraddress: auth.host }) });
  assert.equal(good.status, 200);
  assert.deepEqual(good.json(), { Status: 'Login Succeeded', IdentityToken: '' });
  // The daemon logs neither password.
  assert.ok(!d.output().includes(users.alice) && !d.output().includes('wrong-password'));
});

test('pull and push through an htpasswd registry with the credentials the CLI sends (X-Registry-Auth)', TIMEOUT, async (t) => {
  const ctx = ready(t);
  if (!ctx) return;
  const { auth } = ctx;
  // A daemon of its own: the CLI's stored login of the other test must not help here.
  const d = await startTsdockerd(t);
  const image = await buildImage({ layers: 1 });
  await seed(auth, 'daemon/private', 'p', image, `alice:${users.alice}`);
  const ref = `${auth.host}/daemon/private:p`;
  const denied = await d.docker(['pull', ref], { allowFailure: true });
  assert.equal(denied.code, 1, 'no credentials: refused');
  await d.docker(['login', auth.host, '-u', 'alice', '-p', users.alice]);
  await d.docker(['pull', ref]);
  assert.equal(await inspect(d, ref, '{{.Id}}'), image.config.digest);
  const target = `${auth.host}/daemon/pushed:q`;
  await d.docker(['tag', ref, target]);
  await d.docker(['push', target]);
  const check = await fetch(`${auth.url}/v2/daemon/pushed/manifests/q`, { headers: { authorization: basic('alice', users.alice), accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' } });
  assert.equal(check.status, 200);
  // Wrong credentials in X-Registry-Auth are used (not the daemon's own): the pull fails.
  const header = Buffer.from(JSON.stringify({ username: 'alice', password: 'wrong', serveraddress: auth.host })).toString('base64url');
  const r = await api(d.socket, 'POST', `/v1.41/images/create?fromImage=${encodeURIComponent(`${auth.host}/daemon/private`)}&tag=p`, { headers: { 'X-Registry-Auth': header } });
  const failed = r.status >= 400 || messages(r.text).some((m) => m.error !== undefined);
  assert.ok(failed, `${r.status} ${r.text}`);
});
