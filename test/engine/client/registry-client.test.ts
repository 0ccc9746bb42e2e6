// The registry client's operations against real registries on loopback: ours and CNCF
// distribution, each behind a recording proxy so the tests see exactly what went over the wire.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test, type TestContext } from 'node:test';
import { createRegistryClient, type RegistryClient } from '../../../engine/client/index.js';
import { isTsdError } from '../../../shared/errors.js';
import { startDistribution } from '../../helpers/distribution.js';
import { need } from '../../helpers/env.js';
import { MediaTypes, makeBlob, randomBlob, uniqueName, type Blob } from '../../helpers/oci-client.js';
import { startRegistry } from '../../helpers/registry.js';
import { collect, startHttpProxy, type RunningServer } from './servers.js';

const open = (blob: Blob) => () => Readable.from([blob.data]);

/** Push an image (config + one layer + manifest) and return its parts. */
async function pushImage(client: RegistryClient, repo: string, tag: string) {
  const config = makeBlob(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, n: Math.random() }));
  const layer = randomBlob(4096);
  await client.pushBlob(repo, config.digest, config.size, open(config));
  await client.pushBlob(repo, layer.digest, layer.size, open(layer));
  const raw = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest: config.digest, size: config.size },
      layers: [{ mediaType: MediaTypes.ociLayer, digest: layer.digest, size: layer.size }],
    }),
  );
  const desc = await client.putManifest(repo, tag, raw, MediaTypes.ociManifest);
  return { config, layer, raw, desc };
}

type Start = (t: TestContext) => Promise<RunningServer | undefined>;

function suite(name: string, start: Start, features: { tagPages: boolean }): void {
  describe(name, () => {
    const setup = async (t: TestContext) => {
      const proxy = await start(t);
      if (!proxy) return undefined;
      const client = createRegistryClient(proxy.host, { retry: { minDelayMs: 10 } });
      t.after(() => client.close());
      return { proxy, client };
    };

    test('ping, blob push (monolithic) and fetch, and a second push that only HEADs', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { client, proxy } = s;
      assert.equal((await client.ping()).apiVersion, 'registry/2.0');
      const repo = `client/${uniqueName()}`;
      const blob = randomBlob(3 * 1024 * 1024 + 17);
      assert.equal(await client.blobExists(repo, blob.digest), false);
      assert.equal((await client.pushBlob(repo, blob.digest, blob.size, open(blob))).outcome, 'uploaded');
      assert.deepEqual(await client.statBlob(repo, blob.digest), { digest: blob.digest, size: blob.size });
      assert.ok((await collect(await client.fetchBlob(repo, blob.digest, { size: blob.size }))).equals(blob.data));
      const tail = await collect(await client.fetchBlob(repo, blob.digest, { offset: 1000, size: blob.size }));
      assert.ok(tail.equals(blob.data.subarray(1000)));

      const before = proxy.requests.length;
      let opened = 0;
      const again = await client.pushBlob(repo, blob.digest, blob.size, () => {
        opened++;
        return Readable.from([blob.data]);
      });
      assert.equal(again.outcome, 'exists');
      assert.equal(opened, 0, 'the source is not even opened');
      assert.deepEqual(
        proxy.requests.slice(before).map((r) => r.method),
        ['HEAD'],
      );
    });

    test('chunked push sends PATCHes with Content-Range and follows each Location', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { client, proxy } = s;
      const repo = `client/${uniqueName()}`;
      const blob = randomBlob(2 * 1024 * 1024 + 512 * 1024);
      const chunkSize = 1024 * 1024;
      const before = proxy.requests.length;
      // The source yields odd-sized pieces; the client re-cuts them into chunks.
      const pieces = () => Readable.from([blob.data.subarray(0, 1000), blob.data.subarray(1000, 1_500_000), blob.data.subarray(1_500_000)]);
      assert.equal((await client.pushBlob(repo, blob.digest, blob.size, pieces, { chunkSize })).outcome, 'uploaded');
      const sent = proxy.requests.slice(before);
      const patches = sent.filter((r) => r.method === 'PATCH');
      assert.deepEqual(
        patches.map((r) => r.headers['content-range']),
        [`0-${chunkSize - 1}`, `${chunkSize}-${2 * chunkSize - 1}`, `${2 * chunkSize}-${blob.size - 1}`],
      );
      assert.deepEqual(
        patches.map((r) => r.headers['content-length']),
        [String(chunkSize), String(chunkSize), String(blob.size - 2 * chunkSize)],
      );
      const put = sent.filter((r) => r.method === 'PUT');
      assert.equal(put.length, 1);
      assert.match(put[0]!.url, /digest=sha256/);
      assert.ok((await collect(await client.fetchBlob(repo, blob.digest))).equals(blob.data));
    });

    test('a source that does not match its digest is refused, not uploaded', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { client } = s;
      const repo = `client/${uniqueName()}`;
      const blob = randomBlob(5000);
      const wrong = Buffer.from(blob.data);
      wrong[100] ^= 0xff;
      for (const chunkSize of [undefined, 2048]) {
        await assert.rejects(
          client.pushBlob(repo, blob.digest, blob.size, () => Readable.from([wrong]), { chunkSize, retries: 0 }),
          (err: unknown) => isTsdError(err, 'DIGEST_INVALID'),
        );
      }
      assert.equal(await client.blobExists(repo, blob.digest), false);
    });

    test('a source that fails before it is read (an abort, a read error) fails the push with that error, not the process', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const repo = `client/${uniqueName()}`;
      const blob = randomBlob(5000);
      for (const chunkSize of [undefined, 2048]) {
        const failing = () => {
          const stream = new Readable({ read() {} });
          stream.destroy(new Error('the disk went away'));
          return stream;
        };
        await assert.rejects(s.client.pushBlob(repo, blob.digest, blob.size, failing, { chunkSize, retries: 0 }), /the disk went away/);
      }
      assert.equal(await s.client.blobExists(repo, blob.digest), false);
    });

    test('cross-repository mount: POST with mount/from, no bytes sent', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { client, proxy } = s;
      const from = `client/${uniqueName()}`;
      const to = `client/${uniqueName()}`;
      const blob = randomBlob(200_000);
      await client.pushBlob(from, blob.digest, blob.size, open(blob));
      const before = proxy.requests.length;
      const result = await client.pushBlob(to, blob.digest, blob.size, open(blob), { mountFrom: from });
      assert.equal(result.outcome, 'mounted');
      const sent = proxy.requests.slice(before);
      assert.deepEqual(
        sent.map((r) => r.method),
        ['HEAD', 'POST'],
      );
      const post = new URL(sent[1]!.url, 'http://x');
      assert.equal(post.searchParams.get('mount'), blob.digest);
      assert.equal(post.searchParams.get('from'), from);
      assert.equal(await client.blobExists(to, blob.digest), true);
    });

    test('manifests: exact bytes, verified digest, resolve by HEAD, delete', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { client, proxy } = s;
      const repo = `client/${uniqueName()}`;
      const { raw, desc } = await pushImage(client, repo, 'v1');
      assert.equal(desc.mediaType, MediaTypes.ociManifest);
      assert.equal(desc.size, raw.length);

      const byTag = await client.getManifest(repo, 'v1');
      assert.ok(byTag.raw.equals(raw), 'the exact bytes pushed');
      assert.equal(byTag.digest, desc.digest);
      assert.equal(byTag.mediaType, MediaTypes.ociManifest);
      const byDigest = await client.getManifest(repo, desc.digest);
      assert.ok(byDigest.raw.equals(raw));

      const before = proxy.requests.length;
      assert.deepEqual(await client.resolve(repo, 'v1'), { mediaType: MediaTypes.ociManifest, digest: desc.digest, size: raw.length });
      assert.deepEqual(
        proxy.requests.slice(before).map((r) => r.method),
        ['HEAD'],
        'HEAD was enough',
      );

      await assert.rejects(client.getManifest(repo, 'nope'), (err: unknown) => isTsdError(err, 'MANIFEST_UNKNOWN'));
      await assert.rejects(client.resolve(repo, 'nope'), (err: unknown) => isTsdError(err, 'MANIFEST_UNKNOWN'));
      await assert.rejects(client.fetchBlob(repo, randomBlob(10).digest), (err: unknown) => isTsdError(err, 'BLOB_UNKNOWN'));

      await client.deleteManifest(repo, desc.digest);
      await assert.rejects(client.getManifest(repo, desc.digest), (err: unknown) => isTsdError(err, 'MANIFEST_UNKNOWN'));
    });

    test('tags are listed across Link pages', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { client, proxy } = s;
      const repo = `client/${uniqueName()}`;
      const { raw } = await pushImage(client, repo, 'a');
      for (const tag of ['b', 'c', 'd', 'e']) await client.putManifest(repo, tag, raw, MediaTypes.ociManifest);
      const before = proxy.requests.length;
      assert.deepEqual((await client.listTags(repo, { pageSize: 2 })).sort(), ['a', 'b', 'c', 'd', 'e']);
      const pages = proxy.requests.slice(before).filter((r) => r.url.includes('/tags/list'));
      // distribution 2.8 ignores `n` on tags/list and answers in one page.
      if (features.tagPages) assert.ok(pages.length >= 3, `followed ${pages.length} pages`);
      await assert.rejects(client.listTags(`client/${uniqueName()}`), (err: unknown) => isTsdError(err, 'NAME_UNKNOWN'));
    });

    test('invalid names and digests are refused before any request', async (t) => {
      const s = await setup(t);
      if (!s) return;
      const { client, proxy } = s;
      const before = proxy.requests.length;
      await assert.rejects(client.getManifest('../etc', 'latest'), (err: unknown) => isTsdError(err, 'NAME_INVALID'));
      await assert.rejects(client.fetchBlob('a/b', 'sha256:nothex'), (err: unknown) => isTsdError(err, 'DIGEST_INVALID'));
      await assert.rejects(client.getManifest('a/b', 'bad tag'), (err: unknown) => isTsdError(err, 'TAG_INVALID'));
      assert.equal(proxy.requests.length, before);
    });
  });
}

suite('tsdocker registry', async (t) => {
  const reg = await startRegistry(t);
  return startHttpProxy(t, reg.url);
}, { tagPages: true });

suite('CNCF distribution', async (t) => {
  if (!need(t, { programs: ['docker-registry'] })) return undefined;
  const dist = await startDistribution(t);
  return startHttpProxy(t, dist.url);
}, { tagPages: false });
