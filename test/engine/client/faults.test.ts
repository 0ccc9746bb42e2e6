// The client under faults: corrupted bytes, connections cut mid-blob, 429 and 5xx, a redirect to
// another host, a server that never answers, and an abort.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import { createRegistryClient } from '../../../engine/client/index.js';
import { isTsdError } from '../../../shared/errors.js';
import { startDistribution } from '../../helpers/distribution.js';
import { need } from '../../helpers/env.js';
import { MediaTypes, makeBlob, randomBlob, uniqueName, type Blob } from '../../helpers/oci-client.js';
import { startRegistry } from '../../helpers/registry.js';
import { collect, startCutProxy, startHttpProxy, startServer } from './servers.js';

const open = (blob: Blob) => () => Readable.from([blob.data]);
const fast = { retry: { minDelayMs: 10, maxDelayMs: 50 }, resume: { minDelayMs: 10, maxDelayMs: 50 } };

/** A registry with one blob and one manifest in it, pushed directly. */
async function seeded(t: TestContext, size = 2 * 1024 * 1024) {
  const reg = await startRegistry(t);
  const direct = createRegistryClient(reg.host);
  t.after(() => direct.close());
  const repo = `faults/${uniqueName()}`;
  const blob = randomBlob(size);
  await direct.pushBlob(repo, blob.digest, blob.size, open(blob));
  const raw = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: MediaTypes.ociManifest,
    config: { mediaType: MediaTypes.ociConfig, digest: blob.digest, size: blob.size },
    layers: [],
  }));
  const manifest = await direct.putManifest(repo, 'v1', raw, MediaTypes.ociManifest);
  return { reg, repo, blob, manifest, raw };
}

describe('integrity', () => {
  test('a flipped byte in a blob is DIGEST_INVALID before the stream ends, never a success', async (t) => {
    const { reg, repo, blob } = await seeded(t);
    const proxy = await startHttpProxy(t, reg.url, {
      transform: (req, chunk, offset) => {
        const at = 1_000_000 - offset;
        if (req.method !== 'GET' || !req.url?.includes('/blobs/') || at < 0 || at >= chunk.length) return chunk;
        const copy = Buffer.from(chunk);
        copy[at] ^= 0x01;
        return copy;
      },
    });
    const client = createRegistryClient(proxy.host, fast);
    t.after(() => client.close());
    const stream = await client.fetchBlob(repo, blob.digest, { size: blob.size });
    let ended = false;
    stream.on('end', () => (ended = true));
    await assert.rejects(collect(stream), (err: unknown) => isTsdError(err, 'DIGEST_INVALID'));
    assert.equal(ended, false, 'no end event');
  });

  test('more or fewer bytes than the descriptor says is SIZE_INVALID', async (t) => {
    const { reg, repo, blob } = await seeded(t, 50_000);
    const client = createRegistryClient(reg.host, fast);
    t.after(() => client.close());
    await assert.rejects(collect(await client.fetchBlob(repo, blob.digest, { size: blob.size - 1 })), (err: unknown) => isTsdError(err, 'SIZE_INVALID'));
    await assert.rejects(collect(await client.fetchBlob(repo, blob.digest, { size: blob.size + 1 })), (err: unknown) => isTsdError(err, 'SIZE_INVALID'));
  });

  test('a corrupted manifest is DIGEST_INVALID, by digest and by tag (Docker-Content-Digest)', async (t) => {
    const { reg, repo, manifest } = await seeded(t, 100);
    const proxy = await startHttpProxy(t, reg.url, {
      transform: (req, chunk, offset) => {
        if (req.method !== 'GET' || !req.url?.includes('/manifests/') || offset > 0) return chunk;
        const copy = Buffer.from(chunk);
        copy[copy.length - 2] = 0x20; // `}}` -> ` }`: still JSON, other bytes
        return copy;
      },
    });
    const client = createRegistryClient(proxy.host, fast);
    t.after(() => client.close());
    await assert.rejects(client.getManifest(repo, manifest.digest), (err: unknown) => isTsdError(err, 'DIGEST_INVALID'));
    await assert.rejects(client.getManifest(repo, 'v1'), (err: unknown) => isTsdError(err, 'DIGEST_INVALID'));
  });
});

describe('interrupted downloads resume with Range', () => {
  for (const peer of ['tsdocker', 'distribution'] as const) {
    test(`${peer}: a connection cut after N bytes is resumed from the last byte and verifies`, async (t) => {
      let upstreamPort: number;
      let registryURL: string;
      let registryOutput: () => string;
      if (peer === 'distribution') {
        if (!need(t, { programs: ['docker-registry'] })) return;
        const dist = await startDistribution(t);
        upstreamPort = dist.port;
        registryURL = dist.host;
        registryOutput = dist.output;
      } else {
        const reg = await startRegistry(t);
        upstreamPort = reg.port;
        registryURL = reg.host;
        registryOutput = reg.output;
      }
      const direct = createRegistryClient(registryURL);
      t.after(() => direct.close());
      const repo = `resume/${uniqueName()}`;
      const blob = randomBlob(3 * 1024 * 1024);
      await direct.pushBlob(repo, blob.digest, blob.size, open(blob));

      // Cut three connections, each after ~900 KB: the download needs three resumes.
      const proxy = await startCutProxy(t, upstreamPort, 900_000, 3);
      const client = createRegistryClient(proxy.host, fast);
      t.after(() => client.close());
      const got = await collect(await client.fetchBlob(repo, blob.digest, { size: blob.size })).catch((err: Error) => {
        throw new Error(`${err.message}\nconnections:\n${proxy.sent.join('\n---\n')}\n${registryOutput()}`);
      });
      assert.equal(proxy.cuts, 3);
      assert.ok(got.equals(blob.data), 'the joined bytes are the blob');
      const ranges = proxy.sent.flatMap((s) => [...s.matchAll(/^range: bytes=(\d+)-\r$/gim)].map((m) => Number(m[1])));
      assert.equal(ranges.length, 3, proxy.sent.join('\n---\n'));
      for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i]! > ranges[i - 1]!, 'each resume starts further on');
      assert.ok(ranges[0]! > 0 && ranges[2]! < blob.size);
    });
  }

  test('a connection that always dies before the headers gives up after bounded retries', async (t) => {
    const reg = await startRegistry(t);
    const proxy = await startCutProxy(t, reg.port, 20, 1000);
    const client = createRegistryClient(proxy.host, { retry: { retries: 2, minDelayMs: 10 } });
    t.after(() => client.close());
    await assert.rejects(client.fetchBlob('a/b', randomBlob(10).digest), (err: unknown) => isTsdError(err, 'UNAVAILABLE'));
    assert.equal(proxy.sent.length, 3, 'first attempt + 2 retries');
  });

  test('a download that stops making progress gives up after bounded resumes', async (t) => {
    const { reg, repo, blob } = await seeded(t, 1024 * 1024);
    // The first connection passes 400 KB, every later one dies inside the response headers.
    const proxy = await startCutProxy(t, reg.port, (i) => (i === 0 ? 400_000 : 20), 1000);
    const client = createRegistryClient(proxy.host, { retry: { retries: 0 }, resume: { resumeRetries: 2, minDelayMs: 10, maxDelayMs: 20 } });
    t.after(() => client.close());
    const stream = await client.fetchBlob(repo, blob.digest, { size: blob.size });
    await assert.rejects(collect(stream), (err: unknown) => isTsdError(err, 'UNAVAILABLE'));
    assert.equal(proxy.sent.length, 3, 'the first connection and 2 resumes without progress');
  });
});

describe('retries', () => {
  test('429 with Retry-After is waited out, then the request succeeds', async (t) => {
    const { reg, repo, blob } = await seeded(t, 10_000);
    let refused = 0;
    const proxy = await startHttpProxy(t, reg.url, {
      intercept: (req, res) => {
        if (req.method === 'GET' && req.url?.includes('/blobs/') && refused === 0) {
          refused++;
          res.writeHead(429, { 'Retry-After': '1', 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }));
          return true;
        }
        return false;
      },
    });
    const client = createRegistryClient(proxy.host, fast);
    t.after(() => client.close());
    const startedAt = Date.now();
    const got = await collect(await client.fetchBlob(repo, blob.digest));
    const waited = Date.now() - startedAt;
    assert.ok(got.equals(blob.data));
    assert.ok(waited >= 950, `waited ${waited} ms`);
    assert.equal(proxy.requests.filter((r) => r.method === 'GET').length, 2);
  });

  test('a Retry-After beyond the limit is not waited for: TOOMANYREQUESTS', async (t) => {
    const server = await startServer(t, (_req, res) => {
      res.writeHead(429, { 'Retry-After': '3600' });
      res.end();
    });
    const client = createRegistryClient(server.host, fast);
    t.after(() => client.close());
    const startedAt = Date.now();
    await assert.rejects(client.getManifest('a/b', 'latest'), (err: unknown) => isTsdError(err, 'TOOMANYREQUESTS'));
    assert.ok(Date.now() - startedAt < 2000);
    assert.equal(server.requests.length, 1);
  });

  test('5xx on an idempotent request is retried with backoff; a PATCH is not', async (t) => {
    const { reg, repo, raw } = await seeded(t, 100);
    let failed = 0;
    const proxy = await startHttpProxy(t, reg.url, {
      intercept: (req, res) => {
        if ((req.method === 'PUT' && req.url?.includes('/manifests/') && failed++ < 2) || req.method === 'PATCH') {
          res.writeHead(503);
          res.end();
          return true;
        }
        return false;
      },
    });
    const client = createRegistryClient(proxy.host, fast);
    t.after(() => client.close());
    await client.putManifest(repo, 'again', raw, MediaTypes.ociManifest);
    assert.equal(proxy.requests.filter((r) => r.method === 'PUT').length, 3, 'two 503s, then success');
    const blob = randomBlob(3000);
    await assert.rejects(client.pushBlob(repo, blob.digest, blob.size, open(blob), { chunkSize: 1000, retries: 0 }), (err: unknown) => isTsdError(err, 'UNAVAILABLE'));
    assert.equal(proxy.requests.filter((r) => r.method === 'PATCH').length, 1, 'a chunk is not re-sent by the transport');
  });

  test('a server that never answers times out, boundedly', async (t) => {
    const server = await startServer(t, () => {
      /* never answer */
    });
    const client = createRegistryClient(server.host, { transport: { headersTimeoutMs: 200 }, retry: { retries: 1, minDelayMs: 10 } });
    t.after(() => client.close());
    const startedAt = Date.now();
    await assert.rejects(client.ping(), (err: unknown) => isTsdError(err, 'UNAVAILABLE'));
    assert.ok(Date.now() - startedAt < 3000);
    assert.equal(server.requests.length, 2);
  });

  test('an abort stops a download', async (t) => {
    const { reg, repo, blob } = await seeded(t, 4 * 1024 * 1024);
    const client = createRegistryClient(reg.host, fast);
    t.after(() => client.close());
    const controller = new AbortController();
    const stream = await client.fetchBlob(repo, blob.digest, { signal: controller.signal });
    let received = 0;
    await assert.rejects(
      (async () => {
        for await (const chunk of stream) {
          received += (chunk as Buffer).length;
          if (received > 100_000) controller.abort(new Error('enough'));
        }
      })(),
      /enough/,
    );
    assert.ok(received < blob.size);
  });
});

describe('redirects', () => {
  test('a blob redirected to another host is fetched there without the Authorization header', async (t) => {
    const blob = makeBlob(Buffer.alloc(70_000, 7));
    const storage = await startServer(
      t,
      (_req, res) => {
        res.writeHead(200, { 'Content-Length': String(blob.size), 'Content-Type': 'application/octet-stream' });
        res.end(blob.data);
      },
      '127.0.0.2',
    );
    const expected = `Basic ${Buffer.from('alice:pw').toString('base64')}`;
    const registry = await startServer(t, (req, res) => {
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="fake"', 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
        return;
      }
      if (req.url === `/v2/a/b/blobs/${blob.digest}`) {
        res.writeHead(307, { Location: `${storage.url}/storage/blob?signature=abc` });
        res.end();
        return;
      }
      res.writeHead(404);
      res.end();
    });
    const client = createRegistryClient(registry.host, { ...fast, credentials: { username: 'alice', password: 'pw' } });
    t.after(() => client.close());
    const got = await collect(await client.fetchBlob('a/b', blob.digest));
    assert.ok(got.equals(blob.data));
    assert.ok(registry.requests.some((r) => r.headers.authorization === expected), 'the registry got the credentials');
    assert.equal(storage.requests.length, 1);
    assert.equal(storage.requests[0]!.url, '/storage/blob?signature=abc');
    assert.equal(storage.requests[0]!.headers.authorization, undefined, 'the storage host did not');
  });
});
