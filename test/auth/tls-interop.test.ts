// Real clients over TLS against htpasswd and the built-in token server: docker (private dockerd,
// CA in /etc/docker/certs.d), podman (--cert-dir, --authfile), skopeo (--creds, --*-cert-dir) and
// ctr (--user, --hosts-dir with the CA).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test, type TestContext } from 'node:test';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { freePort, need, tempDir } from '../helpers/env.js';
import { buildImage, writeDockerArchive, writeOciLayout, type TestImage } from '../helpers/images.js';
import { show } from '../helpers/oci-client.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { run, type RunOptions, type RunResult } from '../helpers/run.js';
import { canRunDockerd, fileScope, parseCtrImages, privatePodman, skopeo, TEST_TIMEOUT } from '../interop/harness.js';
import { assertUnchanged, AuthClient, basic, bearer, makePki, mustToken, password, SERVICE, snapshot, tokenAuthConfig, writeHtpasswd, type Pki } from './lib.js';

const PROGRAMS = ['dockerd', 'docker', 'podman', 'skopeo', 'ctr', 'openssl'];
const NAMESPACE = 'tsdauth';
const scope = fileScope();
let dockerd: PrivateDockerd;
let pki: Pki;
/** A directory holding only ca.crt, as containers/image's --cert-dir wants. */
let certDir: string;

before(async () => {
  if (!canRunDockerd()) return;
  const dir = await tempDir(scope, 'tsd-auth-pki-');
  pki = await makePki(dir);
  certDir = join(dir, 'certs');
  await mkdir(certDir);
  await writeFile(join(certDir, 'ca.crt'), pki.ca);
  dockerd = await startDockerd(scope);
}, { timeout: 120_000 });

/**
 * Make docker trust the test CA for `host` through /etc/docker/certs.d/HOST/ca.crt, removed when
 * the test ends (pass or fail), with any parent directory this created.
 */
async function trustForDocker(t: TestContext, host: string): Promise<void> {
  const created = ['/etc/docker', '/etc/docker/certs.d'].filter((d) => !existsSync(d));
  const dir = join('/etc/docker/certs.d', host);
  t.after(async () => {
    await rm(dir, { recursive: true, force: true });
    for (const d of created.reverse()) await rmdir(d).catch(() => {});
  });
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'ca.crt'), pki.ca);
}

/**
 * A containerd hosts directory for `host`: https with the test CA (ctr 1.6 talks plain HTTP to
 * 127.0.0.1 unless told otherwise, and --tlscacert alone does not change that).
 */
async function ctrHostsDir(t: TestContext, host: string): Promise<string> {
  const dir = await tempDir(t, 'tsd-auth-ctr-hosts-');
  await mkdir(join(dir, host));
  await writeFile(
    join(dir, host, 'hosts.toml'),
    `server = "https://${host}"\n\n[host."https://${host}"]\n  capabilities = ["pull", "resolve", "push"]\n  ca = "${pki.caCert}"\n`,
  );
  return dir;
}

function ctr(args: string[], options?: RunOptions): Promise<RunResult> {
  return run('ctr', ['-a', dockerd.containerdSocket, '-n', NAMESPACE, ...args], options);
}

function output(r: RunResult): string {
  return `${r.stdout}\n${r.stderr}`;
}

/** Start a TLS registry with `auth`; returns it with a client trusting the CA. */
async function startTls(t: TestContext, port: number, auth: Record<string, unknown>): Promise<RunningRegistry> {
  return startRegistry(t, {
    port,
    tls: { ca: pki.ca },
    config: {
      log: { level: 'info' },
      http: { addr: `127.0.0.1:${port}`, tls: { certificate: pki.cert, key: pki.key } },
      auth,
    },
  });
}

async function seed(t: TestContext, host: string, ref: string, user: string, pw: string): Promise<TestImage> {
  const work = await tempDir(t, 'tsd-auth-seed-');
  const image = await buildImage({ layers: 2 });
  await writeOciLayout(join(work, 'src'), [{ tag: 'v1', image }]);
  await skopeo(['copy', '--dest-creds', `${user}:${pw}`, '--dest-cert-dir', certDir, `oci:${join(work, 'src')}:v1`, `docker://${host}/${ref}`]);
  return image;
}

/** A local image in the private dockerd, loaded from a fresh fixture, tagged `ref`. */
async function dockerImage(t: TestContext, ref: string): Promise<TestImage> {
  const work = await tempDir(t, 'tsd-auth-docker-');
  const image = await buildImage({ layers: 1 });
  const local = `tsdauth/local:${Date.now()}${Math.floor(Math.random() * 1000)}`;
  await writeDockerArchive(join(work, 'image.tar'), image, [local]);
  await dockerd.docker(['load', '-i', join(work, 'image.tar')]);
  await dockerd.docker(['tag', local, ref]);
  await dockerd.docker(['rmi', local]);
  return image;
}

test('TLS + htpasswd: docker, podman, skopeo and ctr log in, push and pull', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const dir = await tempDir(t, 'tsd-auth-tls-basic-');
  const users = { alice: password('alice'), bob: password('bob') };
  await writeHtpasswd(join(dir, 'htpasswd'), users);
  const port = await freePort();
  const reg = await startTls(t, port, { htpasswd: { realm: 'tsdocker', path: join(dir, 'htpasswd') } });
  const host = reg.host;
  assert.match(reg.url, /^https:/);
  // Without the CA, skopeo refuses the certificate (checked before docker's certs.d entry exists,
  // which containers/image reads too).
  const untrusted = await skopeo(['inspect', '--creds', `bob:${users.bob}`, `docker://${host}/tls/app:v1`], { allowFailure: true });
  assert.notEqual(untrusted.code, 0, output(untrusted));
  assert.match(output(untrusted), /certificate|x509|tls/i, output(untrusted));

  await trustForDocker(t, host);

  // TLS only: plain HTTP on the port gets no registry answer.
  const plain = await fetch(`http://${host}/v2/`).then((r) => r.status, () => 0);
  assert.notEqual(plain, 200, 'plain HTTP must not be served');

  const image = await seed(t, host, 'tls/app:v1', 'alice', users.alice);
  const alice = new AuthClient(reg.url, basic('alice', users.alice), pki.ca);
  const served = await alice.getManifest('tls/app', 'v1');
  assert.equal(served.status, 200, show(served));
  assert.equal(served.headers.get('docker-content-digest'), image.manifest.digest);

  // skopeo: no credentials -> refused; wrong password -> refused; right ones -> works.
  const noCreds = await skopeo(['inspect', '--cert-dir', certDir, `docker://${host}/tls/app:v1`], { allowFailure: true });
  assert.notEqual(noCreds.code, 0);
  assert.match(output(noCreds), /unauthorized|authentication required/i, output(noCreds));
  const badCreds = await skopeo(['inspect', '--creds', `alice:${users.bob}`, '--cert-dir', certDir, `docker://${host}/tls/app:v1`], { allowFailure: true });
  assert.notEqual(badCreds.code, 0);
  const inspected = JSON.parse((await skopeo(['inspect', '--creds', `bob:${users.bob}`, '--cert-dir', certDir, `docker://${host}/tls/app:v1`])).stdout);
  assert.equal(inspected.Digest, image.manifest.digest);
  // docker
  const docker = dockerd.docker;
  const wrong = await docker(['login', '-u', 'alice', '-p', `${users.alice}-wrong`, host], { allowFailure: true });
  assert.notEqual(wrong.code, 0, 'docker login with a wrong password must fail');
  const login = await docker(['login', '-u', 'alice', '-p', users.alice, host]);
  assert.match(output(login), /Login Succeeded/);
  t.after(() => docker(['logout', host], { allowFailure: true }));
  await docker(['pull', `${host}/tls/app:v1`]);
  assert.equal((await docker(['image', 'inspect', '--format', '{{.Id}}', `${host}/tls/app:v1`])).stdout.trim(), image.config.digest);
  const pushed = await dockerImage(t, `${host}/tls/docker:v1`);
  const push = await docker(['push', `${host}/tls/docker:v1`]);
  assert.match(push.stdout, /digest: sha256:[0-9a-f]{64}/, output(push));
  const fromDocker = await alice.getManifest('tls/docker', 'v1');
  assert.equal(fromDocker.status, 200, show(fromDocker));
  assert.equal(fromDocker.json().config.digest, pushed.config.digest);

  // podman
  const podman = await privatePodman(t);
  const authfile = join(dir, 'podman-auth.json');
  const plogin = await podman(['login', '--cert-dir', certDir, '--authfile', authfile, '-u', 'bob', '-p', users.bob, host]);
  assert.match(output(plogin), /Login Succeeded/i);
  await podman(['pull', '--cert-dir', certDir, '--authfile', authfile, `${host}/tls/app:v1`]);
  const pulled = JSON.parse((await podman(['image', 'inspect', `${host}/tls/app:v1`])).stdout)[0];
  assert.equal(pulled.Digest, image.manifest.digest);
  await podman(['push', '--cert-dir', certDir, '--authfile', authfile, `${host}/tls/app:v1`, `docker://${host}/tls/podman:v1`]);
  assert.equal((await alice.getManifest('tls/podman', 'v1')).status, 200);

  // ctr
  const hostsDir = await ctrHostsDir(t, host);
  const ref = `${host}/tls/app:v1`;
  t.after(() => ctr(['images', 'rm', ref, `${host}/tls/ctr:v1`], { allowFailure: true }));
  const noUser = await ctr(['images', 'pull', '--hosts-dir', hostsDir, ref], { allowFailure: true });
  assert.notEqual(noUser.code, 0, 'ctr pull without credentials must fail');
  await ctr(['images', 'pull', '--user', `alice:${users.alice}`, '--hosts-dir', hostsDir, ref]);
  assert.equal(parseCtrImages((await ctr(['images', 'ls'])).stdout).get(ref), image.manifest.digest);
  await ctr(['images', 'tag', ref, `${host}/tls/ctr:v1`]);
  await ctr(['images', 'push', '--user', `alice:${users.alice}`, '--hosts-dir', hostsDir, `${host}/tls/ctr:v1`]);
  const fromCtr = await alice.getManifest('tls/ctr', 'v1');
  assert.equal(fromCtr.headers.get('docker-content-digest'), image.manifest.digest, show(fromCtr));

  await new Promise((r) => setTimeout(r, 300));
  for (const [user, pw] of Object.entries(users)) assert.ok(!reg.output().includes(pw), `the log contains ${user}'s password`);
});

test('TLS + token server: clients follow the challenge; a pull-only user is denied a push and leaves nothing behind', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const dir = await tempDir(t, 'tsd-auth-tls-token-');
  const users = { alice: password('alice'), bob: password('bob'), carol: password('carol') };
  await writeHtpasswd(join(dir, 'htpasswd'), users);
  const port = await freePort();
  const realm = `https://127.0.0.1:${port}/token`;
  const reg = await startTls(t, port, tokenAuthConfig(realm, join(dir, 'htpasswd')));
  const host = reg.host;
  await trustForDocker(t, host);

  const image = await seed(t, host, 'team/app:v1', 'alice', users.alice);
  const token = async (user: 'alice' | 'bob', scopes: string[]) =>
    mustToken(realm, { service: SERVICE, scopes, user, password: users[user], ca: pki.ca });
  const asAlice = new AuthClient(reg.url, bearer(await token('alice', ['repository:team/app:pull', 'registry:catalog:*'])), pki.ca);
  const catalog = async () => {
    const r = await asAlice.get('/v2/_catalog');
    assert.equal(r.status, 200, show(r));
    return r.json().repositories as string[];
  };
  const tags = async () => {
    const r = await asAlice.get('/v2/team/app/tags/list');
    assert.equal(r.status, 200, show(r));
    return r.json().tags as string[];
  };
  assert.deepEqual(await catalog(), ['team/app']);
  assert.deepEqual(await tags(), ['v1']);

  const docker = dockerd.docker;
  const podman = await privatePodman(t);
  const authfile = join(dir, 'podman-auth.json');
  const ref = `${host}/team/app:v1`;
  const hostsDir = await ctrHostsDir(t, host);

  // bob pulls with every client.
  const bobLogin = await docker(['login', '-u', 'bob', '-p', users.bob, host]);
  assert.match(output(bobLogin), /Login Succeeded/);
  t.after(() => docker(['logout', host], { allowFailure: true }));
  await docker(['pull', ref]);
  assert.equal((await docker(['image', 'inspect', '--format', '{{.Id}}', ref])).stdout.trim(), image.config.digest);
  await podman(['login', '--cert-dir', certDir, '--authfile', authfile, '-u', 'bob', '-p', users.bob, host]);
  await podman(['pull', '--cert-dir', certDir, '--authfile', authfile, ref]);
  assert.equal(JSON.parse((await podman(['image', 'inspect', ref])).stdout)[0].Digest, image.manifest.digest);
  t.after(() => ctr(['images', 'rm', ref, `${host}/team/app:ctr-bob`, `${host}/team/ctr:v1`], { allowFailure: true }));
  await ctr(['images', 'pull', '--user', `bob:${users.bob}`, '--hosts-dir', hostsDir, ref]);
  assert.equal(parseCtrImages((await ctr(['images', 'ls'])).stdout).get(ref), image.manifest.digest);
  const inspected = JSON.parse((await skopeo(['inspect', '--creds', `bob:${users.bob}`, '--cert-dir', certDir, `docker://${ref}`])).stdout);
  assert.equal(inspected.Digest, image.manifest.digest);

  // bob pushes with every client: each is denied, and nothing is left behind.
  const before = await snapshot(reg.rootDirectory);
  await dockerImage(t, `${host}/team/app:docker-bob`);
  const dPush = await docker(['push', `${host}/team/app:docker-bob`], { allowFailure: true });
  assert.notEqual(dPush.code, 0, `docker push as bob succeeded:\n${output(dPush)}`);
  assert.match(output(dPush), /denied/i, output(dPush));
  await dockerImage(t, `${host}/team/bobs-own:1`);
  const dPushNew = await docker(['push', `${host}/team/bobs-own:1`], { allowFailure: true });
  assert.notEqual(dPushNew.code, 0);
  assert.match(output(dPushNew), /denied/i, output(dPushNew));

  const pPush = await podman(['push', '--cert-dir', certDir, '--authfile', authfile, ref, `docker://${host}/team/app:podman-bob`], { allowFailure: true });
  assert.notEqual(pPush.code, 0, `podman push as bob succeeded:\n${output(pPush)}`);
  assert.match(output(pPush), /denied/i, output(pPush));

  const work = await tempDir(t, 'tsd-auth-bob-');
  const bobImage = await buildImage({ layers: 1 });
  await writeOciLayout(join(work, 'src'), [{ tag: 'v1', image: bobImage }]);
  const sPush = await skopeo(['copy', '--dest-creds', `bob:${users.bob}`, '--dest-cert-dir', certDir, `oci:${join(work, 'src')}:v1`, `docker://${host}/team/app:skopeo-bob`], { allowFailure: true });
  assert.notEqual(sPush.code, 0, `skopeo copy as bob succeeded:\n${output(sPush)}`);
  assert.match(output(sPush), /denied/i, output(sPush));

  await ctr(['images', 'tag', ref, `${host}/team/app:ctr-bob`]);
  const cPush = await ctr(['images', 'push', '--user', `bob:${users.bob}`, '--hosts-dir', hostsDir, `${host}/team/app:ctr-bob`], { allowFailure: true });
  assert.notEqual(cPush.code, 0, `ctr push as bob succeeded:\n${output(cPush)}`);
  // ctr reports the challenge's error ("insufficient_scope: authorization failed"), or, when the
  // registry's early 401 to the manifest PUT beats ctr's write of the body, containerd 1.6's
  // known client-side race (containerd issue 7972): "io: read/write on closed pipe".
  assert.match(output(cPush), /denied|insufficient_scope|read\/write on closed pipe/i, output(cPush));

  await assertUnchanged(reg.rootDirectory, before, "bob's pushes");
  assert.deepEqual(await catalog(), ['team/app'], 'catalog as alice after the refused pushes');
  assert.deepEqual(await tags(), ['v1'], 'tags after the refused pushes');
  const noBobTag = await asAlice.getManifest('team/app', 'docker-bob');
  assert.equal(noBobTag.status, 404, show(noBobTag));

  // alice pushes with docker (a refresh token from login), podman, skopeo and ctr (POST grants).
  await docker(['logout', host]);
  await docker(['login', '-u', 'alice', '-p', users.alice, host]);
  const alicePushed = await dockerImage(t, `${host}/team/docker:v1`);
  const aPush = await docker(['push', `${host}/team/docker:v1`]);
  assert.match(aPush.stdout, /digest: sha256:/, output(aPush));
  await podman(['login', '--cert-dir', certDir, '--authfile', authfile, '-u', 'alice', '-p', users.alice, host]);
  await podman(['push', '--cert-dir', certDir, '--authfile', authfile, ref, `docker://${host}/team/podman:v1`]);
  await skopeo(['copy', '--src-creds', `alice:${users.alice}`, '--src-cert-dir', certDir, '--dest-creds', `alice:${users.alice}`, '--dest-cert-dir', certDir, `docker://${ref}`, `docker://${host}/team/skopeo:v1`]);
  await ctr(['images', 'tag', ref, `${host}/team/ctr:v1`]);
  await ctr(['images', 'push', '--user', `alice:${users.alice}`, '--hosts-dir', hostsDir, `${host}/team/ctr:v1`]);
  assert.deepEqual((await catalog()).sort(), ['team/app', 'team/ctr', 'team/docker', 'team/podman', 'team/skopeo']);
  const ad = new AuthClient(reg.url, bearer(await token('alice', ['repository:team/docker:pull'])), pki.ca);
  const dm = await ad.getManifest('team/docker', 'v1');
  assert.equal(dm.status, 200, show(dm));
  assert.equal(dm.json().config.digest, alicePushed.config.digest);
  const ac = new AuthClient(reg.url, bearer(await token('alice', ['repository:team/ctr:pull'])), pki.ca);
  assert.equal((await ac.getManifest('team/ctr', 'v1')).headers.get('docker-content-digest'), image.manifest.digest);

  await new Promise((r) => setTimeout(r, 300));
  for (const [user, pw] of Object.entries(users)) assert.ok(!reg.output().includes(pw), `the log contains ${user}'s password`);
});
