// Conformance: hostile input. Path traversal in names, tags, digests and upload ids; bad headers;
// truncated bodies; pathological JSON. Nothing may succeed, nothing may be written outside the
// registry's rootDirectory, and the registry must keep serving.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join, relative } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import { tempDir } from '../helpers/env.js';
import {
  assertError,
  Failures,
  makeBlob,
  manifestFrom,
  MediaTypes,
  OciClient,
  randomBlob,
  rawAsResp,
  rawRequest,
  requireLocation,
  sha256,
  sharedHooks,
  show,
  sleep,
  uniqueName,
  type Resp,
} from '../helpers/oci-client.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';

const nonce = `pwned${randomBytes(4).toString('hex')}`;
const componentRe = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;

async function listAll(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string, depth: number): Promise<void> {
    if (depth > 40) return;
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      out.push(p);
      if (e.isDirectory()) await walk(p, depth + 1);
    }
  }
  await walk(dir, 0);
  return out;
}

describe('hostile input', () => {
  const { hooks, cleanup } = sharedHooks();
  let reg: RunningRegistry;
  let c: OciClient;
  let outer: string;
  let sandbox: string;
  let rootDirectory: string;
  let marker: string;

  /** A raw request, returned as a Resp. */
  const raw = async (method: string, target: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<Resp> =>
    rawAsResp(await rawRequest({ port: reg.port, method, target, headers, body }));

  /** Not a success, and a JSON error if the server answered with a body. */
  const rejected = (r: Resp, statuses = [400, 404]) => {
    assert.ok(r.status < 200 || r.status >= 300, `must not succeed: ${show(r)}`);
    assert.ok(statuses.includes(r.status), `expected ${statuses.join('|')}: ${show(r)}`);
    if ((r.status === 400 || r.status === 404) && !r.request.startsWith('HEAD ')) {
      assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/, show(r));
      assert.ok(Array.isArray(r.json().errors), show(r));
    }
  };

  before(async () => {
    outer = await tempDir(hooks, 'tsdocker-hostile-');
    // outer/sandbox/{data,marker}: the registry owns data; marker must stay empty, nothing else may appear.
    sandbox = join(outer, 'sandbox');
    rootDirectory = join(sandbox, 'data');
    marker = join(sandbox, 'marker');
    await mkdir(marker, { recursive: true });
    reg = await startRegistry(hooks, { rootDirectory });
    c = new OciClient(reg.url);
  });
  after(cleanup);

  afterEach(async () => {
    // still serving
    const ping = await c.ping();
    assert.equal(ping.status, 200, `registry stopped answering: ${show(ping)}\n${reg.output().slice(-2000)}`);
    // nothing outside rootDirectory
    assert.deepEqual(await readdir(outer), ['sandbox'], 'something was created next to the sandbox');
    const siblings = (await readdir(sandbox)).sort();
    assert.ok(siblings.includes('marker') && siblings.every((n) => n === 'data' || n === 'marker'), `something was created next to rootDirectory: ${siblings.join(', ')}`);
    assert.deepEqual(await readdir(marker), [], 'the marker directory was written to');
    for (const dir of ['/tmp', '/', '/var/tmp']) {
      const names = await readdir(dir).catch(() => [] as string[]);
      assert.ok(!names.some((n) => n.includes(nonce)), `${nonce} appeared in ${dir}`);
    }
    // inside rootDirectory: no nonce anywhere, and every repository path is a valid name
    const all = await listAll(rootDirectory);
    const leaked = all.filter((p) => p.includes(nonce));
    assert.deepEqual(leaked, [], 'a hostile name reached the filesystem');
    const reposRoot = join(rootDirectory, 'docker/registry/v2/repositories');
    for (const p of all) {
      const base = p.split('/').pop()!;
      if (!['_layers', '_manifests', '_uploads'].includes(base)) continue;
      const repo = relative(reposRoot, join(p, '..'));
      if (repo.startsWith('..')) continue; // not a repository directory
      for (const comp of repo.split('/')) assert.match(comp, componentRe, `invalid repository path on disk: ${repo}`);
      if ((await stat(p)).isDirectory() === false) assert.fail(`${p} is not a directory`);
    }
  });

  test('path traversal in repository names never succeeds', async () => {
    const blob = randomBlob(32);
    const q = `?digest=${blob.digest}`;
    const targets = [
      `/v2/../${nonce}/blobs/uploads/`,
      `/v2/../../../../../../../../../../tmp/${nonce}/blobs/uploads/`,
      `/v2/%2e%2e/${nonce}/blobs/uploads/`,
      `/v2/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/%2E%2E/${nonce}/blobs/uploads/`,
      `/v2/a/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/${nonce}/blobs/uploads/`,
      `/v2/a/..%2f..%2f..%2f..%2f..%2f..%2f${nonce}/blobs/uploads/`,
      `/v2/a%2f..%2f..%2f..%2f..%2f..%2f${nonce}/blobs/uploads/`,
      `/v2/a/../../../../../${nonce}/blobs/uploads/`,
      `/v2/a/./${nonce}/blobs/uploads/`,
      `/v2/a/%2e/${nonce}/blobs/uploads/`,
      `/v2/a/%2e%2e%5c%2e%2e%5c${nonce}/blobs/uploads/`,
      `/v2/a%00${nonce}/blobs/uploads/`,
      `/v2/${nonce}%00/blobs/uploads/`,
      `/v2/a//${nonce}/blobs/uploads/`,
      `/v2//${nonce}/blobs/uploads/`,
      `/v2/${nonce}/../../../../../../blobs/uploads/`,
    ];
    const f = new Failures();
    for (const t of targets) {
      await f.check(`POST ${t}`, async () => rejected(await raw('POST', t)));
      await f.check(`POST ${t}${q}`, async () => rejected(await raw('POST', t + q, { 'content-type': 'application/octet-stream' }, blob.data)));
    }
    // monolithic PUT of a manifest and reads through traversal names
    const m = manifestFrom({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: [] }, MediaTypes.ociIndex);
    for (const name of [`..%2f..%2f${nonce}`, `%2e%2e/%2e%2e/${nonce}`, `a/%2e%2e/%2e%2e/%2e%2e/${nonce}`]) {
      await f.check(`PUT manifest ${name}`, async () => rejected(await raw('PUT', `/v2/${name}/manifests/latest`, { 'content-type': m.mediaType }, m.bytes)));
      await f.check(`tags ${name}`, async () => rejected(await raw('GET', `/v2/${name}/tags/list`)));
      await f.check(`GET manifest ${name}`, async () => rejected(await raw('GET', `/v2/${name}/manifests/latest`)));
      await f.check(`GET blob ${name}`, async () => rejected(await raw('GET', `/v2/${name}/blobs/${blob.digest}`)));
      await f.check(`DELETE blob ${name}`, async () => rejected(await raw('DELETE', `/v2/${name}/blobs/${blob.digest}`), [400, 404, 405]));
      await f.check(`referrers ${name}`, async () => rejected(await raw('GET', `/v2/${name}/referrers/${blob.digest}`)));
    }
    f.done();
  });

  test('names breaking the grammar are 400 NAME_INVALID', async () => {
    const bad = ['UPPER', 'Abc/def', 'a..b', '-a', 'a-', 'a_', '_a', 'a___b', 'a:b', 'a@b', 'a b', 'a+b', `${'a'.repeat(256)}`, `${'a'.repeat(128)}/${'b'.repeat(127)}`, 'a/_uploads', 'a/_manifests/b', '_layers', 'a/.b', 'a/b.', 'abc\n', 'abc\r\nx-injected: 1', 'caf\u00e9'];
    const f = new Failures();
    for (const name of bad) {
      const path = encodeURI(name);
      const n = JSON.stringify(name.length > 40 ? `${name.slice(0, 20)}...(${name.length})` : name);
      await f.check(`POST uploads for ${n}`, async () => assertError(await c.request('POST', `/v2/${path}/blobs/uploads/`), 400, 'NAME_INVALID'));
      await f.check(`tags/list for ${n}`, async () => assertError(await c.get(`/v2/${path}/tags/list`), 400, 'NAME_INVALID'));
      await f.check(`manifest for ${n}`, async () => assertError(await c.get(`/v2/${path}/manifests/latest`), 400, 'NAME_INVALID'));
      await f.check(`blob for ${n}`, async () => assertError(await c.get(`/v2/${path}/blobs/${sha256('x')}`), 400, 'NAME_INVALID'));
    }
    f.done();
    // the edges of the grammar are accepted
    for (const name of ['a__b', 'a.b', 'a-----b', `${'a'.repeat(127)}/${'b'.repeat(127)}`, 'a/b/c/d/e/f/g/h']) {
      const r = await c.startUpload(name);
      assert.equal(r.status, 202, `${name}: ${show(r)}`);
      assert.equal((await c.cancelUpload(requireLocation(r))).status, 204);
    }
  });

  test('path traversal in tags, digests and upload ids never succeeds', async () => {
    const name = uniqueName('victim');
    const img = await c.makeImage(name, { layers: 1 });
    await c.pushManifest(name, 'ok', img);
    const body = img.bytes;
    const ct = { 'content-type': img.mediaType };
    const f = new Failures();
    const reject = (method: string, target: string, headers?: Record<string, string>, b?: Buffer, statuses?: number[]) =>
      f.check(`${method} ${target}`, async () => rejected(await raw(method, target, headers, b), statuses));
    for (const tag of ['latest%0a', 'latest%0d%0ax-injected:%201', `..%2f..%2f..%2f..%2f${nonce}`, '%2e%2e', '..', `%2e%2e%2f%2e%2e%2f${nonce}`, `a%2f..%2f..%2f${nonce}`, `${nonce}%00`]) {
      await reject('PUT', `/v2/${name}/manifests/${tag}`, ct, body);
      await reject('GET', `/v2/${name}/manifests/${tag}`);
      await reject('DELETE', `/v2/${name}/manifests/${tag}`);
    }
    for (const d of [`sha256:..%2f..%2f..%2f${nonce}`, `sha256:../../../${nonce}`, `sha256%3a..%2f..%2f${nonce}`, `..%2f..%2f${nonce}`, `sha256:${'a'.repeat(62)}%2f..`]) {
      await reject('GET', `/v2/${name}/blobs/${d}`);
      await reject('HEAD', `/v2/${name}/blobs/${d}`);
      await reject('DELETE', `/v2/${name}/blobs/${d}`);
      await reject('GET', `/v2/${name}/manifests/${d}`);
      await reject('PUT', `/v2/${name}/manifests/${d}`, ct, body);
      await reject('GET', `/v2/${name}/referrers/${d}`);
    }
    const blob = randomBlob(64);
    const oct = { 'content-type': 'application/octet-stream' };
    for (const id of [`..%2f..%2f..%2f${nonce}`, `%2e%2e`, `..`, `${nonce}%2f..%2f..`, `..%5c..%5c${nonce}`]) {
      await reject('GET', `/v2/${name}/blobs/uploads/${id}`);
      await reject('PATCH', `/v2/${name}/blobs/uploads/${id}`, oct, blob.data);
      await reject('PUT', `/v2/${name}/blobs/uploads/${id}?digest=${blob.digest}`, oct, blob.data);
      await reject('DELETE', `/v2/${name}/blobs/uploads/${id}`);
    }
    // a traversal digest on the PUT that finishes a real upload
    for (const d of [`sha256:../../../${nonce}`, `sha256:..%2f..%2f${nonce}`, `../../${nonce}`]) {
      const s = await c.startUpload(name);
      const loc = new URL(requireLocation(s), c.base + '/');
      const target = `${loc.pathname}${loc.search ? `${loc.search}&` : '?'}digest=${d}`;
      await f.check(`PUT digest=${d}`, async () => assertError(await raw('PUT', target, oct, blob.data), 400, 'DIGEST_INVALID'));
    }
    // mount with hostile parameters
    for (const [mount, from] of [
      [`sha256:../../${nonce}`, name],
      [blob.digest, `../../${nonce}`],
      [img.blobs[0]!.digest, `${name}/../${name}`],
      [img.blobs[0]!.digest, 'UPPER'],
    ] as const) {
      await f.check(`mount=${mount} from=${from}`, async () => {
        const r = await c.startUpload(uniqueName('dst'), { mount, from });
        assert.ok([202, 400].includes(r.status), show(r));
        if (r.status === 202) await c.cancelUpload(requireLocation(r));
      });
    }
    f.done();
    // the victim is intact
    const g = await c.getManifest(name, 'ok');
    assert.equal(g.status, 200, show(g));
    assert.ok(g.body.equals(img.bytes));
  });

  test('bad Content-Range values are rejected and change nothing', async () => {
    const name = uniqueName('ranges');
    const blob = randomBlob(1000);
    const s = await c.startUpload(name);
    let loc = requireLocation(s);
    const first = await c.patchChunk(loc, blob.data.subarray(0, 100), 0);
    assert.equal(first.status, 202, show(first));
    loc = requireLocation(first);
    const chunk = blob.data.subarray(100, 200);
    const f = new Failures();
    for (const cr of ['100-99999999999999999999', '100-150', '100-300', '200-100', 'abc', '-1-98', '100-', '100-199-300', '0-99', '50-149', '101-200']) {
      await f.check(`Content-Range ${JSON.stringify(cr)}`, async () => {
        const r = await c.patchChunk(loc, chunk, 0, { 'content-range': cr });
        assert.ok([400, 416].includes(r.status), show(r));
        const st = await c.uploadStatus(loc);
        assert.equal(st.status, 204, show(st));
        assert.equal(st.headers.get('range'), '0-99', `session changed: ${show(st)}`);
      });
    }
    f.done();
    const ok = await c.patchChunk(loc, blob.data.subarray(100), 100);
    assert.equal(ok.status, 202, show(ok));
    const fin = await c.finishUpload(requireLocation(ok), blob.digest);
    assert.equal(fin.status, 201, show(fin));
    const g = await c.getBlob(name, blob.digest);
    assert.ok(g.body.equals(blob.data));
  });

  test('a Content-Range that disagrees with a chunked (unsized) body is rejected and changes nothing', async () => {
    const name = uniqueName('tecr');
    const blob = randomBlob(1000);
    const stream = (data: Buffer) =>
      new ReadableStream<Uint8Array>({
        start(ctrl) {
          ctrl.enqueue(data);
          ctrl.close();
        },
      });
    const f = new Failures();
    for (const [cr, bytes] of [
      ['0-99', 150],
      ['0-99', 50],
    ] as const) {
      await f.check(`Content-Range ${cr} with ${bytes} chunked bytes`, async () => {
        const loc = requireLocation(await c.startUpload(name));
        const r = await c.request('PATCH', loc, { headers: { 'content-type': 'application/octet-stream', 'content-range': cr }, body: stream(blob.data.subarray(0, bytes)) });
        assert.ok([400, 416].includes(r.status), show(r));
        const st = await c.uploadStatus(loc);
        assert.equal(st.headers.get('range'), '0-0', `session changed: ${show(st)}`);
      });
    }
    f.done();
  });

  test('a body cut short is never committed as a blob', async () => {
    const name = uniqueName('cut');
    const blob = randomBlob(200_000);
    const half = blob.data.subarray(0, 100_000);
    // monolithic POST ?digest= with a Content-Length larger than what is sent
    await sendTruncated(reg.port, `POST /v2/${name}/blobs/uploads/?digest=${blob.digest}`, blob.size, half);
    // POST + PUT with a truncated body
    const s = await c.startUpload(name);
    const loc = new URL(requireLocation(s), c.base + '/');
    await sendTruncated(reg.port, `PUT ${loc.pathname}${loc.search ? `${loc.search}&` : '?'}digest=${blob.digest}`, blob.size, half);
    await sleep(200);
    for (const d of [blob.digest, sha256(half)]) {
      const h = await c.headBlob(name, d);
      assert.equal(h.status, 404, `truncated upload became visible: ${show(h)}`);
    }
    // the blob still pushes fine afterwards
    await c.pushBlob(name, blob);
    assert.ok((await c.getBlob(name, blob.digest)).body.equals(blob.data));
  });

  test('a PATCH that announces a terabyte and sends a kilobyte is harmless', async () => {
    const name = uniqueName('huge');
    const s = await c.startUpload(name);
    const loc = new URL(requireLocation(s), c.base + '/');
    await sendTruncated(reg.port, `PATCH ${loc.pathname}${loc.search}`, 1024 ** 4, randomBlob(1024).data);
    await sendTruncated(reg.port, `POST /v2/${name}/blobs/uploads/?digest=${sha256('x')}`, 1024 ** 4, randomBlob(1024).data);
    await sleep(100);
    const st = await c.uploadStatus(loc.toString());
    assert.ok([204, 404].includes(st.status), show(st));
    assert.equal((await c.headBlob(name, sha256('x'))).status, 404);
  });

  test('a PATCH cut short leaves a session whose Range can be trusted', async () => {
    const name = uniqueName('resume');
    const blob = randomBlob(300_000);
    const s = await c.startUpload(name);
    const loc = new URL(requireLocation(s), c.base + '/');
    await sendTruncated(reg.port, `PATCH ${loc.pathname}${loc.search}`, 200_000, blob.data.subarray(0, 120_000), { 'content-range': '0-199999' });
    await sleep(200);
    const st = await c.uploadStatus(loc.toString());
    if (st.status === 404) return; // the server dropped the session: acceptable
    assert.equal(st.status, 204, show(st));
    const m = /^0-(\d+)$/.exec(st.headers.get('range') ?? '');
    assert.ok(m, show(st));
    const have = Number(m[1]) === 0 ? 0 : Number(m[1]) + 1;
    assert.ok(have === 0 || have <= 120_000, `server claims ${have} bytes but only 120000 were sent: ${show(st)}`);
    let next = requireLocation(st);
    const p = await c.patchChunk(next, blob.data.subarray(have), have);
    assert.equal(p.status, 202, show(p));
    next = requireLocation(p);
    const f = await c.finishUpload(next, blob.digest);
    assert.equal(f.status, 201, `resumed upload failed: ${show(f)}`);
    assert.ok((await c.getBlob(name, blob.digest)).body.equals(blob.data));
  });

  test('pathological manifests are 400 MANIFEST_INVALID', async () => {
    const name = uniqueName('json');
    await c.pushBlob(name, randomBlob(10));
    const f = new Failures();
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    const deepObj = '{"a":'.repeat(50_000) + '1' + '}'.repeat(50_000);
    for (const [why, body] of [
      ['deep arrays', deep],
      ['deep objects', deepObj],
      ['NUL bytes', '\u0000\u0000\u0000'],
      ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
      ['a JSON string', '"hello"'],
      ['null', 'null'],
      ['duplicate keys trick', `{"schemaVersion":2,"mediaType":"${MediaTypes.ociManifest}","mediaType":"${MediaTypes.ociIndex}","manifests":[]}`],
    ] as const) {
      await f.check(why, async () => assertError(await c.putManifest(name, 'bad', { bytes: body as string | Buffer, mediaType: MediaTypes.ociManifest }), 400, 'MANIFEST_INVALID'));
    }
    f.done();
  });

  test('manifests with 25,000 descriptors are checked without harm', async () => {
    const name = uniqueName('wide');
    // Link the blobs through a second process over the same storage, so this process has nothing cached.
    const other = await startRegistry(hooks, { rootDirectory });
    const o = new OciClient(other.url);
    const img = await o.makeImage(name, { layers: 1 });
    await o.pushManifest(name, 'small', img);
    await other.stop();
    const layer = img.blobs[1]!;
    const n = 25_000;
    const started = Date.now();
    const same = manifestFrom({ ...img.object, layers: Array.from({ length: n }, () => ({ mediaType: MediaTypes.ociLayer, digest: layer.digest, size: layer.size })) }, MediaTypes.ociManifest);
    // other clients keep being served meanwhile
    const [r, ...others] = await Promise.all([
      c.putManifest(name, 'same', same),
      ...Array.from({ length: 10 }, () => c.getBlob(name, img.blobs[0]!.digest)),
      ...Array.from({ length: 10 }, () => c.getManifest(name, 'small')),
    ]);
    assert.equal(r!.status, 201, show(r!));
    for (const x of others) assert.equal(x.status, 200, show(x));
    const unknown = Array.from({ length: n }, (_, i) => ({ mediaType: MediaTypes.ociLayer, digest: sha256(`${nonce}-${i}`), size: 1 }));
    assertError(await c.putManifest(name, 'unknown', manifestFrom({ ...img.object, layers: unknown }, MediaTypes.ociManifest)), 400, 'MANIFEST_BLOB_UNKNOWN');
    const idx = manifestFrom({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests: unknown.map((d) => ({ ...d, mediaType: MediaTypes.ociManifest })) }, MediaTypes.ociIndex);
    assertError(await c.putManifest(name, 'idx', idx), 400, 'MANIFEST_BLOB_UNKNOWN');
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  });

  test('__proto__ and constructor keys do not pollute anything', async () => {
    const name = uniqueName('proto');
    const img = await c.makeImage(name, { layers: 1 });
    const text = img.bytes.toString().replace(/\}$/, ',"__proto__":{"polluted":"yes","schemaVersion":1},"constructor":{"prototype":{"polluted":"yes"}}}');
    const m = manifestFrom(JSON.parse(text), MediaTypes.ociManifest, Buffer.from(text));
    const r = await c.putManifest(name, 'proto', m);
    assert.ok([201, 400].includes(r.status), show(r));
    if (r.status === 201) {
      const g = await c.getManifest(name, 'proto');
      assert.ok(g.body.equals(m.bytes));
    } else assertError(r, 400, 'MANIFEST_INVALID');
    // an ordinary push still behaves
    const ok = await c.makeImage(name, { layers: 1 });
    await c.pushManifest(name, 'after', ok);
    assertError(await c.getManifest(name, 'polluted'), 404, 'MANIFEST_UNKNOWN');
  });

  test('oversized request lines and headers are refused without harm', async () => {
    const longName = 'a/'.repeat(40_000) + 'a';
    const r1 = await raw('GET', `/v2/${longName}/tags/list`);
    assert.ok(r1.status >= 400 && r1.status < 500, show(r1));
    let r2: Resp | undefined;
    try {
      r2 = await raw('GET', '/v2/', { 'x-big': 'y'.repeat(200_000) });
    } catch {
      /* the server may just close the connection */
    }
    if (r2) assert.ok(r2.status === 431 || r2.status === 400, show(r2));
    const r3 = await c.listTags(uniqueName('nope'), { n: '99999999999999999999999' });
    assert.ok([400, 404].includes(r3.status), show(r3));
  });

  test('a manifest upload that never finishes does not block others', async () => {
    const name = uniqueName('slow');
    const sock = connect({ port: reg.port, host: '127.0.0.1' });
    await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
    sock.write(`PUT /v2/${name}/manifests/hang HTTP/1.1\r\nhost: x\r\ncontent-type: ${MediaTypes.ociManifest}\r\ncontent-length: 1000\r\n\r\n{"schema`);
    try {
      const other = uniqueName('fast');
      const m = await c.makeImage(other, { layers: 1 });
      await c.pushManifest(other, 'x', m);
      const b = makeBlob('hello');
      await c.pushBlob(other, b);
    } finally {
      sock.destroy();
    }
    await sleep(100);
    assertError(await c.getManifest(name, 'hang'), 404, ['MANIFEST_UNKNOWN', 'NAME_UNKNOWN']);
  });
});

/** Send a request with a Content-Length larger than the bytes sent, then drop the connection. */
async function sendTruncated(port: number, requestLine: string, contentLength: number, data: Buffer, headers: Record<string, string> = {}): Promise<void> {
  const sock = connect({ port, host: '127.0.0.1' });
  await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
  sock.on('error', () => {});
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  sock.write(`${requestLine} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/octet-stream\r\ncontent-length: ${contentLength}\r\n${extra}\r\n`);
  await new Promise<void>((res) => sock.write(data, () => res()));
  await sleep(150);
  sock.destroy();
}
