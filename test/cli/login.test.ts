// tsdocker login/logout against a private dockerd and a registry with htpasswd auth: the daemon
// checks the credentials, the CLI writes config.json as the docker CLI writes it (compared with
// the file docker itself writes), and prints what docker prints.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { writeHtpasswd } from '../auth/lib.js';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { need, tempDir } from '../helpers/env.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { canRunDockerd, fileScope, TEST_TIMEOUT } from '../interop/harness.js';
import { asTsdocker, clis, runWithInput, show, tsdockerBin, type Clis } from './harness.js';

const PROGRAMS = ['dockerd', 'docker'];
const scope = fileScope();
let dockerd: PrivateDockerd;
let registry: RunningRegistry;
let cli: Clis;
const password = 'pw-with:colon and space';

before(async () => {
  if (!canRunDockerd()) return;
  dockerd = await startDockerd(scope);
  const dir = await tempDir(scope, 'tsd-cli-login-');
  const htpasswd = join(dir, 'htpasswd');
  await writeHtpasswd(htpasswd, { alice: password, bob: 'bob-pw' }, 5);
  registry = await startRegistry(scope, { config: { auth: { htpasswd: { realm: 'cli-login', path: htpasswd } } } });
  cli = await clis(scope, dockerd);
}, { timeout: 120_000 });

async function configOf(dir: string): Promise<unknown> {
  return JSON.parse(await readFile(join(dir, 'config.json'), 'utf8'));
}

/** Our stderr with docker's config path in place of ours (the warning names the file). */
function sameStderr(ours: string, theirs: string): void {
  assert.equal(ours.replaceAll(cli.tsConfig, 'CONFIG'), asTsdocker(theirs).replaceAll(cli.dockerConfig, 'CONFIG'));
}

test('login -u -p and --password-stdin: "Login Succeeded", docker\'s warnings, config.json as docker writes it', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const ours = await cli.tsdocker(['login', '-u', 'alice', '-p', password, registry.host]);
  const theirs = await cli.docker(['login', '-u', 'alice', '-p', password, registry.host]);
  assert.equal(ours.code, 0, show(ours));
  assert.equal(ours.stdout, 'Login Succeeded\n');
  assert.equal(ours.stdout, theirs.stdout);
  sameStderr(ours.stderr, theirs.stderr);
  const written = await configOf(cli.tsConfig);
  assert.deepEqual(written, await configOf(cli.dockerConfig));
  assert.deepEqual(written, { auths: { [registry.host]: { auth: Buffer.from(`alice:${password}`).toString('base64') } } });
  const mode = (await import('node:fs')).statSync(join(cli.tsConfig, 'config.json')).mode & 0o777;
  assert.equal(mode, 0o600);

  // A URL names the same registry (its host); the password from stdin loses its final newline.
  const stdin = await cli.tsdocker(['login', '--username', 'bob', '--password-stdin', `http://${registry.host}/v2/`], { input: 'bob-pw\n' });
  const dockerStdin = await cli.docker(['login', '--username', 'bob', '--password-stdin', `http://${registry.host}/v2/`], { input: 'bob-pw\n' });
  assert.equal(stdin.code, 0, show(stdin));
  assert.equal(stdin.stdout, dockerStdin.stdout);
  sameStderr(stdin.stderr, dockerStdin.stderr);
  assert.deepEqual(await configOf(cli.tsConfig), await configOf(cli.dockerConfig));
  assert.deepEqual(await configOf(cli.tsConfig), { auths: { [registry.host]: { auth: Buffer.from('bob:bob-pw').toString('base64') } } });

  // Other keys of the file are kept.
  const path = join(cli.tsConfig, 'config.json');
  await writeFile(path, JSON.stringify({ ...(await configOf(cli.tsConfig) as object), psFormat: 'table {{.ID}}' }));
  const again = await cli.tsdocker(['login', '-u', 'alice', '--password-stdin', registry.host], { input: password });
  assert.equal(again.code, 0, show(again));
  assert.deepEqual(await configOf(cli.tsConfig), { auths: { [registry.host]: { auth: Buffer.from(`alice:${password}`).toString('base64') } }, psFormat: 'table {{.ID}}' });
});

test('login with stored credentials and no flags re-authenticates; logout removes them like docker', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  await cli.tsdocker(['login', '-u', 'alice', '-p', password, registry.host]);
  await cli.docker(['login', '-u', 'alice', '-p', password, registry.host]);
  const stored = await cli.tsdocker(['login', registry.host]);
  const dockerStored = await cli.docker(['login', registry.host]);
  assert.equal(stored.code, 0, show(stored));
  assert.equal(stored.stdout, 'Login Succeeded\n');
  assert.equal(stored.stdout, dockerStored.stdout);
  assert.match(stored.stderr, /^Authenticating with existing credentials\.\.\. \[Username: alice\]\n/);
  sameStderr(stored.stderr, dockerStored.stderr);

  const out = await cli.tsdocker(['logout', registry.host]);
  const dockerOut = await cli.docker(['logout', registry.host]);
  assert.equal(out.code, 0, show(out));
  assert.equal(out.stdout, `Removing login credentials for ${registry.host}\n`);
  assert.equal(out.stdout, dockerOut.stdout);
  const auths = async (dir: string) => ((await configOf(dir)) as { auths: unknown }).auths;
  assert.deepEqual(await auths(cli.tsConfig), await auths(cli.dockerConfig));
  assert.deepEqual(await auths(cli.tsConfig), {});
  const twice = await cli.tsdocker(['logout', registry.host]);
  assert.equal(twice.code, 0);
  assert.equal(twice.stdout, (await cli.docker(['logout', registry.host])).stdout);

  // With nothing stored and no terminal there is nobody to ask.
  const nobody = await cli.tsdocker(['login', registry.host]);
  const dockerNobody = await cli.docker(['login', registry.host]);
  assert.equal(nobody.code, 1);
  assert.equal(nobody.stderr, 'Error: Cannot perform an interactive login from a non TTY device\n');
  assert.equal(nobody.stderr, dockerNobody.stderr);
});

test('login failures: the daemon\'s refusal and docker\'s option errors, exit 1, config untouched', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const path = join(cli.tsConfig, 'config.json');
  await writeFile(path, '{"auths":{}}');
  const cases = [
    ['login', '-u', 'alice', '-p', 'wrong', registry.host],
    ['login', '-u', 'mallory', '--password-stdin', registry.host],
    ['login', '-p', 'x', '--password-stdin', registry.host],
    ['login', '--password-stdin', registry.host],
    ['login', '-u', 'alice', registry.host],
    ['login', 'a', 'b'],
    ['logout', 'a', 'b'],
  ];
  for (const args of cases) {
    const ours = await cli.tsdocker(args, { input: 'not-it\n' });
    const theirs = await cli.docker(args, { input: 'not-it\n' });
    assert.equal(ours.code, 1, `${args.join(' ')}\n${show(ours)}`);
    assert.equal(theirs.code, 1, show(theirs));
    assert.equal(ours.stdout, theirs.stdout, args.join(' '));
    sameStderr(ours.stderr, theirs.stderr.replace('\n\nSRun', '\n\nRun'));
  }
  assert.equal(await readFile(path, 'utf8'), '{"auths":{}}');
  const refused = await cli.tsdocker(['login', '-u', 'alice', '-p', 'wrong', registry.host]);
  assert.match(refused.stderr, new RegExp(`Error response from daemon: login attempt to http://${registry.host}/v2/ failed with status: 401 Unauthorized\\n$`));
});

test('login without a reachable daemon checks the credentials with the registry itself, as docker does', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const dir = await tempDir(t);
  const env = { ...cli.env, DOCKER_CONFIG: join(dir, 'config') };
  const noDaemon = ['-H', `unix://${join(dir, 'nothing.sock')}`];
  const ok = await runWithInput(process.execPath, [tsdockerBin, ...noDaemon, 'login', '-u', 'alice', '--password-stdin', registry.host], { env, input: password });
  assert.equal(ok.code, 0, show(ok));
  assert.equal(ok.stdout, 'Login Succeeded\n');
  assert.deepEqual(await configOf(join(dir, 'config')), { auths: { [registry.host]: { auth: Buffer.from(`alice:${password}`).toString('base64') } } });
  const wrong = await runWithInput(process.execPath, [tsdockerBin, ...noDaemon, 'login', '-u', 'alice', '--password-stdin', registry.host], { env: { ...env, DOCKER_CONFIG: join(dir, 'other') }, input: 'wrong' });
  assert.equal(wrong.code, 1, show(wrong));
  assert.match(wrong.stderr, /401|unauthorized|authentication/i);
});
