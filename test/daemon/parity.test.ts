// tsdockerd side by side with a real dockerd (20.10, API 1.41), the same image loaded into both
// and the same docker CLI asking: inspect and list shapes, history rows, command output and error
// messages, docker login's refusal, and the /version and /info key sets.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import { password, writeHtpasswd } from '../auth/lib.js';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { need, tempDir } from '../helpers/env.js';
import { buildImage, writeDockerArchive, type TestImage } from '../helpers/images.js';
import { sharedHooks } from '../helpers/oci-client.js';
import { startRegistry } from '../helpers/registry.js';
import type { RunResult, RunOptions } from '../helpers/run.js';
import { startTsdockerd, type RunningTsdockerd } from '../helpers/tsdockerd.js';
import { canRunDockerd } from '../interop/harness.js';
import { api } from './lib.js';

const TIMEOUT = { timeout: 240_000 };
const shared = sharedHooks();
let dockerd: PrivateDockerd | undefined;
let ours: RunningTsdockerd | undefined;
let image: TestImage;
let work: string;
const tag = 'tsdtest/parity:1';

before(async () => {
  if (!canRunDockerd()) return;
  dockerd = await startDockerd(shared.hooks);
  ours = await startTsdockerd(shared.hooks);
  work = await tempDir(shared.hooks, 'tsdd-parity-');
  image = await buildImage({ layers: 2 });
  await writeDockerArchive(join(work, 'p.tar'), image, [tag]);
  for (const d of both()) {
    const r = await d.docker(['load', '-i', join(work, 'p.tar')]);
    assert.match(r.stdout, /Loaded image: tsdtest\/parity:1/, d.name);
  }
}, TIMEOUT);
after(() => shared.cleanup());

interface Side {
  name: string;
  socket: string;
  docker(args: string[], options?: RunOptions): Promise<RunResult>;
}

function both(): [Side, Side] {
  const real = dockerd!;
  const mine = ours!;
  return [
    { name: 'dockerd', socket: real.host.slice('unix://'.length), docker: real.docker },
    { name: 'tsdockerd', socket: mine.socket, docker: mine.docker },
  ];
}

function ready(t: TestContext): [Side, Side] | undefined {
  if (!need(t, { programs: ['dockerd', 'docker'], root: true })) return undefined;
  assert.ok(dockerd && ours, 'the daemons did not start');
  return both();
}

const keys = (o: object) => Object.keys(o).sort();

/** Ours has every key dockerd has; anything more is a documented addition. */
function assertKeys(theirs: object, mine: object, extra: string[], what: string): void {
  const missing = keys(theirs).filter((k) => !(k in mine));
  assert.deepEqual(missing, [], `${what}: keys dockerd has and we lack`);
  const added = keys(mine).filter((k) => !(k in theirs) && !extra.includes(k));
  assert.deepEqual(added, [], `${what}: keys we add`);
}

test('docker image inspect: dockerd key set and the same values for the same image', TIMEOUT, async (t) => {
  const sides = ready(t);
  if (!sides) return;
  const [theirs, mine] = await Promise.all(sides.map(async (s) => (JSON.parse((await s.docker(['image', 'inspect', tag])).stdout) as Array<Record<string, any>>)[0]!));
  // API 1.48 added Descriptor; we send it at every version (the tsdocker CLI shows it).
  assertKeys(theirs!, mine!, ['Descriptor'], 'inspect');
  for (const k of ['Id', 'RepoTags', 'RepoDigests', 'Parent', 'Comment', 'Created', 'Author', 'Architecture', 'Os', 'RootFS']) {
    assert.deepEqual(mine![k], theirs![k], k);
  }
  for (const k of ['Cmd', 'Env', 'Labels']) assert.deepEqual(mine!.Config[k], theirs!.Config[k], `Config.${k}`);
  assertKeys(theirs!.GraphDriver, mine!.GraphDriver, [], 'GraphDriver');
  assertKeys(theirs!.Metadata, mine!.Metadata, [], 'Metadata');
});

test('docker images: the same row, and the API summary has dockerd keys', TIMEOUT, async (t) => {
  const sides = ready(t);
  if (!sides) return;
  const rows = await Promise.all(sides.map(async (s) => (await s.docker(['images', '--format', '{{.Repository}} {{.Tag}} {{.ID}} {{.CreatedAt}}', tag])).stdout.trim()));
  assert.equal(rows[1], rows[0]);
  const json = await Promise.all(sides.map(async (s) => JSON.parse((await s.docker(['images', '--format', '{{json .}}', tag])).stdout.trim()) as Record<string, unknown>));
  assert.deepEqual(keys(json[1]!), keys(json[0]!));
  const summaries = await Promise.all(sides.map(async (s) => (await api(s.socket, 'GET', '/v1.41/images/json')).json<Array<Record<string, unknown>>>().find((i) => i.Id === image.config.digest)!));
  assertKeys(summaries[0]!, summaries[1]!, [], 'images/json');
  for (const k of ['Id', 'RepoTags', 'Created', 'ParentId']) assert.deepEqual(summaries[1]![k], summaries[0]![k], k);
});

test('docker history: the same rows (IDs, commands, dates) as dockerd', TIMEOUT, async (t) => {
  const sides = ready(t);
  if (!sides) return;
  const rows = await Promise.all(sides.map(async (s) => (await s.docker(['history', '--no-trunc', '--format', '{{.ID}}|{{.CreatedAt}}|{{.CreatedBy}}|{{.Comment}}', tag])).stdout.trim()));
  assert.equal(rows[1], rows[0]);
});

test('command output and error messages match dockerd word for word', TIMEOUT, async (t) => {
  const sides = ready(t);
  if (!sides) return;
  for (const s of sides) {
    await s.docker(['tag', tag, 'tsdtest/parity-other:2']);
    await s.docker(['tag', tag, 'tsdtest/parity:3']);
  }
  const same = async (args: string[], compare: 'stdout' | 'stderr' = 'stderr') => {
    const [a, b] = await Promise.all(sides.map((s) => s.docker(args, { allowFailure: true })));
    assert.equal(b!.code, a!.code, `${args.join(' ')}: exit code (${a!.stderr} / ${b!.stderr})`);
    assert.equal(b![compare], a![compare], args.join(' '));
  };
  await same(['rmi', image.config.digest.slice(7, 19)]);
  await same(['rmi', 'nosuch']);
  await same(['rmi', 'nosuch:5']);
  await same(['tag', 'nosuch', 'x:1']);
  await same(['history', 'nosuch']);
  await same(['inspect', 'nosuch']);
  await same(['save', '-o', join(work, 'never.tar'), 'nosuch']);
  await same(['images', '--filter', 'bogus=1']);
  await same(['images', '--filter', 'dangling=maybe']);
  await same(['image', 'prune', '-f', '--filter', 'dangling=maybe']);
  await same(['rmi', 'tsdtest/parity:3'], 'stdout');
  // dockerd also lists the layers it deleted; ours lists the image lines, which dockerd prints too.
  const [theirs, mine] = await Promise.all(sides.map((s) => s.docker(['rmi', '-f', image.config.digest])));
  const theirLines = new Set(theirs!.stdout.trim().split('\n'));
  for (const line of mine!.stdout.trim().split('\n')) assert.ok(theirLines.has(line), `${line} in dockerd's output:\n${theirs!.stdout}`);
  for (const s of sides) await s.docker(['load', '-i', join(work, 'p.tar')]);
});

test('docker login refused by an htpasswd registry: the same message as dockerd', TIMEOUT, async (t) => {
  const sides = ready(t);
  if (!sides) return;
  const dir = await tempDir(t);
  const pw = password('carol');
  await writeHtpasswd(join(dir, 'htpasswd'), { carol: pw });
  const reg = await startRegistry(t, { config: { auth: { htpasswd: { realm: 'parity', path: join(dir, 'htpasswd') } } } });
  const [a, b] = await Promise.all(sides.map((s) => s.docker(['login', reg.host, '-u', 'carol', '-p', 'not-it'], { allowFailure: true })));
  assert.equal(a!.code, 1);
  assert.equal(b!.code, 1);
  assert.equal(b!.stderr, a!.stderr);
  const [c, d] = await Promise.all(sides.map((s) => s.docker(['login', reg.host, '-u', 'carol', '-p', pw])));
  assert.match(c!.stdout, /Login Succeeded/);
  assert.match(d!.stdout, /Login Succeeded/);
});

test('/version and /info: every key dockerd sends', TIMEOUT, async (t) => {
  const sides = ready(t);
  if (!sides) return;
  const version = await Promise.all(sides.map(async (s) => (await api(s.socket, 'GET', '/v1.41/version')).json<Record<string, any>>()));
  assertKeys(version[0]!, version[1]!, [], 'version');
  assertKeys(version[0]!.Components[0].Details, version[1]!.Components[0].Details, ['NodeVersion'], 'version Engine details');
  const info = await Promise.all(sides.map(async (s) => (await api(s.socket, 'GET', '/v1.41/info')).json<Record<string, any>>()));
  assertKeys(info[0]!, info[1]!, [], 'info');
  assertKeys(info[0]!.Swarm, info[1]!.Swarm, [], 'info Swarm');
  assertKeys(info[0]!.RegistryConfig, info[1]!.RegistryConfig, [], 'info RegistryConfig');
  for (const k of ['NCPU', 'MemTotal', 'OperatingSystem', 'OSType', 'Architecture', 'KernelVersion', 'IndexServerAddress']) assert.deepEqual(info[1]![k], info[0]![k], k);
  const ping = await Promise.all(sides.map((s) => api(s.socket, 'GET', '/_ping')));
  for (const h of ['api-version', 'docker-experimental', 'ostype', 'cache-control', 'pragma', 'content-type']) assert.equal(ping[1]!.headers[h], ping[0]!.headers[h], h);
});
