// The Engine API itself, over the unix socket with node:http: _ping headers, the version prefix,
// dockerd's 404 and error shapes, names with slashes and ports, streamed load messages, save of
// several names, parameter checks, and a connection upgrade on a route that has none.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import * as tar from 'tar-stream';
import { need, tempDir } from '../helpers/env.js';
import { buildImage, writeDockerArchive, type TestImage } from '../helpers/images.js';
import { sharedHooks } from '../helpers/oci-client.js';
import { startTsdockerd, type RunningTsdockerd } from '../helpers/tsdockerd.js';
import { api, messages } from './lib.js';

const TIMEOUT = { timeout: 120_000 };
const shared = sharedHooks();
let daemon: RunningTsdockerd | undefined;
let image: TestImage;
let archive: Buffer;
const name = '127.0.0.1:5000/team/app:v1';

before(async () => {
  if (process.getuid?.() !== 0) return;
  daemon = await startTsdockerd(shared.hooks);
  const dir = await tempDir(shared.hooks, 'tsdd-api-');
  image = await buildImage({ layers: 1 });
  await writeDockerArchive(join(dir, 'a.tar'), image, [name, 'tsdtest/api:1']);
  archive = await readFile(join(dir, 'a.tar'));
}, TIMEOUT);
after(() => shared.cleanup());

function ready(t: TestContext): RunningTsdockerd | undefined {
  if (!need(t, { root: true })) return undefined;
  assert.ok(daemon, 'the shared tsdockerd did not start');
  return daemon;
}

async function load(d: RunningTsdockerd): Promise<void> {
  const r = await api(d.socket, 'POST', '/v1.41/images/load?quiet=0', { body: archive, headers: { 'Content-Type': 'application/x-tar' } });
  assert.equal(r.status, 200, r.text);
}

test('_ping: GET and HEAD answer OK with the headers the docker CLI negotiates from', TIMEOUT, async (t) => {
  const d = ready(t);
  if (!d) return;
  for (const path of ['/_ping', '/v1.41/_ping', '/v1.24/_ping']) {
    const get = await api(d.socket, 'GET', path);
    assert.equal(get.status, 200, path);
    assert.equal(get.text, 'OK');
    assert.equal(get.headers['api-version'], '1.41');
    assert.equal(get.headers['docker-experimental'], 'false');
    assert.equal(get.headers.ostype, 'linux');
    assert.equal(get.headers['cache-control'], 'no-cache, no-store, must-revalidate');
    assert.equal(get.headers.pragma, 'no-cache');
    assert.equal(get.headers['content-type'], 'text/plain; charset=utf-8');
    // dockerd's header spelling, for clients that compare case-sensitively.
    for (const h of ['Api-Version', 'Docker-Experimental', 'Ostype']) assert.ok(get.rawHeaderNames.includes(h), `${h} in ${get.rawHeaderNames.join(',')}`);
  }
  const head = await api(d.socket, 'HEAD', '/_ping');
  assert.equal(head.status, 200);
  assert.equal(head.body.length, 0);
  assert.equal(head.headers['api-version'], '1.41');
  assert.equal(head.headers['content-length'], '0');
});

test('version prefix: none, any /vX.Y in range, too new and too old refused as dockerd does', TIMEOUT, async (t) => {
  const d = ready(t);
  if (!d) return;
  for (const path of ['/version', '/v1.41/version', '/v1.30/version', '/v1.12/version']) {
    const r = await api(d.socket, 'GET', path);
    assert.equal(r.status, 200, `${path}: ${r.text}`);
    const v = r.json<Record<string, unknown>>();
    assert.equal(v.ApiVersion, '1.41');
    assert.equal(v.MinAPIVersion, '1.12');
    assert.equal(v.Os, 'linux');
    assert.ok(Array.isArray(v.Components));
  }
  const tooNew = await api(d.socket, 'GET', '/v1.99/version');
  assert.equal(tooNew.status, 400);
  assert.deepEqual(tooNew.json(), { message: 'client version 1.99 is too new. Maximum supported API version is 1.41' });
  const tooOld = await api(d.socket, 'GET', '/v1.11/info');
  assert.equal(tooOld.status, 400);
  assert.match(tooOld.json<{ message: string }>().message, /^client version 1.11 is too old\. Minimum supported API version is 1\.12/);
});

test('unknown routes: 404 {"message":"page not found"}, also for a known path with another method', TIMEOUT, async (t) => {
  const d = ready(t);
  if (!d) return;
  for (const [method, path] of [['GET', '/nosuch'], ['GET', '/v1.41/nosuch/route'], ['PUT', '/v1.41/images/json'], ['GET', '/v1.41/images/create'], ['GET', '/v1.41/plugins'], ['PUT', '/v1.41/containers/json']]) {
    const r = await api(d.socket, method!, path!);
    assert.equal(r.status, 404, `${method} ${path}`);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.text, '{"message":"page not found"}\n');
  }
});

test('errors are {"message"} with docker statuses: 404 no such image, 400 bad parameters, 501 import', TIMEOUT, async (t) => {
  const d = ready(t);
  if (!d) return;
  const cases: Array<[string, string, number, RegExp, Record<string, string>?]> = [
    ['GET', '/v1.41/images/nosuch/json', 404, /^No such image: nosuch:latest$/],
    ['GET', '/v1.41/images/nosuch/history', 404, /^No such image: nosuch:latest$/],
    ['DELETE', '/v1.41/images/nosuch', 404, /^No such image: nosuch:latest$/],
    ['POST', '/v1.41/images/nosuch/tag?repo=a&tag=b', 404, /^No such image: nosuch:latest$/],
    ['GET', '/v1.41/images/BAD..ref/json', 400, /^invalid reference format/],
    ['GET', '/v1.41/images/json?filters=%7Bnot-json', 400, /invalid filter/],
    ['GET', '/v1.41/images/json?filters=%7B%22nope%22%3A%5B%22x%22%5D%7D', 400, /^Invalid filter 'nope'$/],
    ['POST', '/v1.41/images/prune?filters=%7B%22until%22%3A%5B%2224h%22%5D%7D', 400, /^Invalid filter 'until'$/],
    ['POST', '/v1.41/images/create?fromSrc=-&repo=x', 501, /not implemented/],
    ['POST', '/v1.41/images/create', 400, /fromImage/],
    ['POST', '/v1.41/images/create?fromImage=x&tag=1&platform=plan9x%2Famd64', 400, /unknown operating system or architecture/],
    ['POST', '/v1.41/images/create?fromImage=BAD..ref&tag=1', 400, /invalid reference format/],
    ['POST', '/v1.41/images/x/push?tag=1', 400, /X-Registry-Auth/, { 'X-Registry-Auth': 'bm90IGpzb24' }],
    ['POST', '/v1.41/auth', 400, /invalid JSON|empty/],
    ['GET', '/v1.41/images/%E0%A4%A/json', 400, /invalid escape/],
  ];
  for (const [method, path, status, pattern, headers] of cases) {
    const r = await api(d.socket, method, path, headers ? { headers } : {});
    assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
    assert.equal(r.headers['content-type'], 'application/json', `${method} ${path}`);
    assert.match(r.json<{ message: string }>().message, pattern, `${method} ${path}`);
  }
});

test('load streams docker messages; names with a registry port and slashes route greedily, escaped or not', TIMEOUT, async (t) => {
  const d = ready(t);
  if (!d) return;
  const r = await api(d.socket, 'POST', '/v1.41/images/load?quiet=1', { body: archive });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.headers['transfer-encoding'], 'chunked');
  assert.ok(r.text.endsWith('\r\n'), 'dockerd ends each message with CRLF');
  const streamed = messages(r.text).map((m) => m.stream).sort();
  assert.deepEqual(streamed, [`Loaded image: ${name}\n`, 'Loaded image: tsdtest/api:1\n']);

  for (const path of [`/v1.41/images/${name}/json`, `/v1.41/images/${encodeURIComponent(name)}/json`, `/images/${name}/json`]) {
    const inspect = await api(d.socket, 'GET', path);
    assert.equal(inspect.status, 200, `${path}: ${inspect.text}`);
    assert.equal(inspect.json<{ Id: string }>().Id, image.config.digest);
  }
  const history = await api(d.socket, 'GET', `/v1.41/images/${name}/history`);
  assert.equal(history.json<Array<{ Id: string }>>()[0]!.Id, image.config.digest);
  // A name ending in one of the route words is still a name (DELETE takes everything after /images/).
  const tag = await api(d.socket, 'POST', `/v1.41/images/${image.config.digest}/tag?repo=127.0.0.1:5000/x/json&tag=1`);
  assert.equal(tag.status, 201, tag.text);
  assert.equal(tag.body.length, 0);
  const del = await api(d.socket, 'DELETE', '/v1.41/images/127.0.0.1:5000/x/json:1');
  assert.equal(del.status, 200, del.text);
  assert.deepEqual(del.json(), [{ Untagged: '127.0.0.1:5000/x/json:1' }]);
});

test('images/json: dockerd summary shape; the reference filter in both JSON forms lists only matching tags', TIMEOUT, async (t) => {
  const d = ready(t);
  if (!d) return;
  await load(d);
  const list = (await api(d.socket, 'GET', '/v1.41/images/json')).json<Array<Record<string, unknown>>>();
  const mine = list.find((i) => i.Id === image.config.digest);
  assert.ok(mine, JSON.stringify(list));
  assert.deepEqual(Object.keys(mine).sort(), ['Containers', 'Created', 'Id', 'Labels', 'ParentId', 'RepoDigests', 'RepoTags', 'SharedSize', 'Size', 'VirtualSize']);
  assert.equal(mine.Created, Date.parse('2024-01-01T00:00:00Z') / 1000);
  const filtered = await api(d.socket, 'GET', `/v1.41/images/json?filters=${encodeURIComponent(JSON.stringify({ reference: { 'tsdtest/api': true } }))}`);
  assert.deepEqual(filtered.json<Array<{ RepoTags: string[] }>>().map((i) => i.RepoTags), [['tsdtest/api:1']], 'only the matching tag is listed');
  // The old list form of filters, as older clients send it.
  const old = await api(d.socket, 'GET', `/v1.24/images/json?filters=${encodeURIComponent(JSON.stringify({ reference: ['tsdtest/api:1'] }))}`);
  assert.equal(old.json<unknown[]>().length, 1);
});

test('images/get?names=a&names=b: one docker archive with both; an unknown name is a 404 before any byte', TIMEOUT, async (t) => {
  const d = ready(t);
  if (!d) return;
  await load(d);
  const other = await buildImage({ layers: 1 });
  const dir = await tempDir(t);
  await writeDockerArchive(join(dir, 'o.tar'), other, ['tsdtest/api-other:1']);
  assert.equal((await api(d.socket, 'POST', '/images/load', { body: await readFile(join(dir, 'o.tar')) })).status, 200);
  const r = await api(d.socket, 'GET', `/v1.41/images/get?names=${encodeURIComponent('tsdtest/api:1')}&names=${encodeURIComponent('tsdtest/api-other:1')}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/x-tar');
  const manifest = JSON.parse((await entries(r.body)).get('manifest.json')!.toString('utf8')) as Array<{ RepoTags: string[] }>;
  assert.deepEqual(manifest.map((m) => m.RepoTags).flat().sort(), ['tsdtest/api-other:1', 'tsdtest/api:1']);
  const missing = await api(d.socket, 'GET', '/v1.41/images/get?names=tsdtest/api:1&names=nosuch');
  assert.equal(missing.status, 404);
  assert.equal(missing.headers['content-type'], 'application/json');
  assert.deepEqual(missing.json(), { message: 'No such image: nosuch' });
});

async function entries(archive: Buffer): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => void chunks.push(c as Buffer));
      stream.on('end', () => {
        out.set(header.name, Buffer.concat(chunks));
        next();
      });
    });
    extract.on('finish', () => resolve());
    extract.on('error', reject);
  });
  extract.end(archive);
  await done;
  return out;
}

test('a connection upgrade on a route without one is refused with a 404 or 400, and the daemon keeps serving', TIMEOUT, async (t) => {
  const d = ready(t);
  if (!d) return;
  const raw = (request: string) =>
    new Promise<string>((resolve, reject) => {
      const s = createConnection(d.socket);
      let data = '';
      s.on('data', (c) => (data += c));
      s.on('end', () => resolve(data));
      s.on('error', reject);
      s.write(request);
    });
  const unknown = await raw('POST /v1.41/plugins/abc/upgrade HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n');
  assert.match(unknown, /^HTTP\/1\.1 404 /);
  assert.ok(unknown.endsWith('{"message":"page not found"}\n'), unknown);
  const noContainer = await raw('POST /v1.41/containers/abc/attach?stream=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n');
  assert.match(noContainer, /^HTTP\/1\.1 404 /);
  assert.ok(noContainer.endsWith('{"message":"No such container: abc"}\n'), noContainer);
  const noUpgrade = await raw('GET /v1.41/version HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
  assert.match(noUpgrade, /^HTTP\/1\.1 400 /);
  assert.equal((await api(d.socket, 'GET', '/_ping')).status, 200);
});
