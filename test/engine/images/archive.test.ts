import assert from 'node:assert/strict';
import { createReadStream, createWriteStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import type { Digest } from '../../../shared/digest.js';
import { isTsdError, type ErrorCode } from '../../../shared/errors.js';
import { ImageStore, load, save, saveOci } from '../../../engine/images/index.js';
import { tempDir } from '../../helpers/env.js';
import { buildImage, hex, writeDockerArchive } from '../../helpers/images.js';
import { blobList, record, sharingImage, storedImage } from './lib.js';

async function saveTo(file: string, fn: (out: NodeJS.WritableStream & import('node:stream').Writable) => Promise<void>): Promise<void> {
  const out = createWriteStream(file);
  await fn(out);
  out.end();
  await finished(out);
}

async function tarOf(entries: Array<{ name: string; body?: Buffer; type?: 'file' | 'symlink' | 'directory'; linkname?: string }>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
  const done = new Promise<void>((r) => pack.on('end', () => r()));
  for (const e of entries) {
    if (e.type === 'symlink') pack.entry({ name: e.name, type: 'symlink', linkname: e.linkname! });
    else if (e.type === 'directory') pack.entry({ name: e.name, type: 'directory' });
    else pack.entry({ name: e.name, size: e.body!.length }, e.body!);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

async function entriesOf(archive: Buffer): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  const extract = tar.extract();
  extract.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => void chunks.push(c as Buffer));
    stream.on('end', () => {
      if (h.type === 'file') out.set(h.name, Buffer.concat(chunks));
      next();
    });
  });
  const done = new Promise<void>((r, j) => {
    extract.on('finish', () => r());
    extract.on('error', (e: unknown) => j(e));
  });
  extract.end(archive);
  await done;
  return out;
}

test('save -> load round trip keeps IDs, tags, manifest and layer digests (docker archive, OCI layout, gzip)', async (t) => {
  const dir = await tempDir(t);
  const src = await ImageStore.open(join(dir, 'src'));
  const a = await storedImage(src);
  const ra = await record(src, a, ['app:1', 'app:latest', 'localhost:5000/x/y:2']);
  const rb = await record(src, await sharingImage(src, a, 'b'), ['other:1']);
  const file = join(dir, 'out.tar');
  await saveTo(file, (out) => save(src, ['app', 'other:1', 'localhost:5000/x/y:2'], out));

  const entries = await entriesOf(await readFile(file));
  const manifest = JSON.parse(entries.get('manifest.json')!.toString());
  assert.equal(manifest.length, 2);
  assert.deepEqual(manifest[0].RepoTags.sort(), ['app:1', 'app:latest', 'localhost:5000/x/y:2']);
  assert.equal(manifest[0].Config, `blobs/sha256/${hex(ra.id)}`);
  assert.ok(entries.has('oci-layout') && entries.has('index.json'));

  for (const [name, bytes] of [['plain', await readFile(file)], ['gzip', gzipSync(await readFile(file))]] as const) {
    const dst = await ImageStore.open(join(dir, `dst-${name}`));
    const result = await load(dst, Readable.from([bytes]));
    assert.deepEqual(result.images.map((i) => i.id).sort(), [ra.id, rb.id].sort());
    assert.ok(result.messages.includes('Loaded image: app:latest'));
    for (const r of [ra, rb]) {
      const got = dst.get(r.id)!;
      assert.deepEqual(got.repoTags.sort(), r.repoTags.sort());
      assert.equal(got.manifest.digest, r.manifest.digest, 'manifest digest kept');
      assert.deepEqual(got.layers, r.layers);
      assert.deepEqual(got.diffIds, r.diffIds);
    }
    assert.deepEqual(await blobList(dst), await blobList(src));
  }

  // OCI layout only: tags are ref.name annotations; io.containerd.image.name restores the full name.
  const oci = join(dir, 'oci.tar');
  await saveTo(oci, (out) => saveOci(src, ['app:1'], out));
  const ociEntries = await entriesOf(await readFile(oci));
  assert.equal(ociEntries.has('manifest.json'), false);
  const index = JSON.parse(ociEntries.get('index.json')!.toString());
  assert.equal(index.manifests[0].annotations['org.opencontainers.image.ref.name'], '1');
  const dst = await ImageStore.open(join(dir, 'dst-oci'));
  await load(dst, createReadStream(oci));
  assert.deepEqual(dst.get(ra.id)!.repoTags, ['docker.io/library/app:1']);
});

test('a classic docker archive (uncompressed layer.tar files) loads with the same ID; layers stay uncompressed', async (t) => {
  const dir = await tempDir(t);
  const img = await buildImage({ format: 'docker' });
  const file = join(dir, 'classic.tar');
  await writeDockerArchive(file, img, ['classic:1']);
  const store = await ImageStore.open(join(dir, 'data'));
  const result = await load(store, createReadStream(file));
  assert.deepEqual(result.messages, ['Loaded image: classic:1']);
  const r = store.resolve('classic:1').image;
  assert.equal(r.id, img.config.digest);
  assert.deepEqual(r.layers.map((l) => l.digest), img.layers.map((l) => l.diffId), 'an uncompressed layer is stored as is: digest = DiffID');
  assert.deepEqual(r.layers.map((l) => l.mediaType), img.layers.map(() => 'application/vnd.oci.image.layer.v1.tar'));
  assert.equal(r.size, img.layers.reduce((n, l) => n + l.tar.length, 0));
  // Loading the same archive again changes nothing but is not an error.
  await load(store, createReadStream(file));
  assert.equal(store.all().length, 1);
});

test('hostile archives are refused with a typed error and leave the store unchanged', async (t) => {
  const dir = await tempDir(t);
  const store = await ImageStore.open(join(dir, 'data'));
  await record(store, await storedImage(store), ['keep:1']);
  const img = await buildImage({ format: 'docker', layers: 1 });
  const cfg = `${hex(img.config.digest)}.json`;
  const layer = `${hex(img.layers[0]!.diffId)}/layer.tar`;
  const manifestOf = (m: unknown) => Buffer.from(JSON.stringify(m));
  const good = (extra: Partial<{ Config: string; Layers: string[] }> = {}) => manifestOf([{ Config: cfg, RepoTags: ['evil:1'], Layers: [layer], ...extra }]);
  const tampered = Buffer.from(img.layers[0]!.tar);
  tampered[tampered.length - 2048] ^= 1;
  const ociBlobName = `blobs/sha256/${hex(img.config.digest)}`;

  const cases: Array<[string, ErrorCode, Buffer]> = [
    ['traversal entry name', 'INVALID_ARGUMENT', await tarOf([{ name: '../escape', body: Buffer.from('x') }, { name: cfg, body: img.config.bytes }, { name: 'manifest.json', body: good() }])],
    ['absolute entry name', 'INVALID_ARGUMENT', await tarOf([{ name: '/etc/evil', body: Buffer.from('x') }])],
    ['manifest.json Config outside', 'INVALID_ARGUMENT', await tarOf([{ name: cfg, body: img.config.bytes }, { name: layer, body: img.layers[0]!.tar }, { name: 'manifest.json', body: good({ Config: `../${cfg}` }) }])],
    ['manifest.json layer absolute', 'INVALID_ARGUMENT', await tarOf([{ name: cfg, body: img.config.bytes }, { name: layer, body: img.layers[0]!.tar }, { name: 'manifest.json', body: good({ Layers: ['/etc/passwd'] }) }])],
    ['symlink layer pointing outside', 'INVALID_ARGUMENT', await tarOf([{ name: cfg, body: img.config.bytes }, { name: layer, type: 'symlink', linkname: '../../../etc/passwd' }, { name: 'manifest.json', body: good() }])],
    ['tampered layer (DiffID mismatch)', 'DIGEST_INVALID', await tarOf([{ name: cfg, body: img.config.bytes }, { name: layer, body: tampered }, { name: 'manifest.json', body: good() }])],
    ['OCI blob not matching its name', 'DIGEST_INVALID', await tarOf([{ name: ociBlobName, body: Buffer.from('{}') }, { name: 'manifest.json', body: good({ Config: ociBlobName }) }])],
    ['oversized manifest.json', 'MANIFEST_TOO_LARGE', await tarOf([{ name: 'manifest.json', body: Buffer.alloc(5 * 1024 * 1024, 0x20) }])],
    ['missing layer', 'INVALID_ARGUMENT', await tarOf([{ name: cfg, body: img.config.bytes }, { name: 'manifest.json', body: good() }])],
    ['not an archive of images', 'INVALID_ARGUMENT', await tarOf([{ name: 'hello', body: Buffer.from('x') }])],
    ['truncated tar', 'INVALID_ARGUMENT', (await tarOf([{ name: cfg, body: img.config.bytes }, { name: layer, body: img.layers[0]!.tar }])).subarray(0, 3000)],
  ];
  const before = { images: await readFile(join(store.dataRoot, 'images', 'images.json'), 'utf8'), blobs: await blobList(store) };
  for (const [what, code, archive] of cases) {
    await assert.rejects(load(store, Readable.from([archive])), (e) => isTsdError(e, code) || assert.fail(`${what}: ${String(e)}`), what);
    assert.equal(await readFile(join(store.dataRoot, 'images', 'images.json'), 'utf8'), before.images, what);
    assert.deepEqual(await blobList(store), before.blobs, `${what}: no blob left behind`);
  }
  // A second image in the archive is bad: the first, good one is not loaded either.
  const img2 = await buildImage({ format: 'docker', layers: 1 });
  const mixed = await tarOf([
    { name: cfg, body: img.config.bytes },
    { name: layer, body: img.layers[0]!.tar },
    { name: `${hex(img2.config.digest)}.json`, body: img2.config.bytes },
    { name: 'bad/layer.tar', body: tampered },
    { name: 'manifest.json', body: manifestOf([{ Config: cfg, RepoTags: ['good:1'], Layers: [layer] }, { Config: `${hex(img2.config.digest)}.json`, RepoTags: ['bad:1'], Layers: ['bad/layer.tar'] }]) },
  ]);
  await assert.rejects(load(store, Readable.from([mixed])), (e) => isTsdError(e, 'DIGEST_INVALID'));
  assert.equal(await readFile(join(store.dataRoot, 'images', 'images.json'), 'utf8'), before.images);
  assert.deepEqual(await blobList(store), before.blobs);
  await writeFile(join(dir, 'ok'), ''); // the temp dir is still writable; nothing was staged outside it
  assert.equal(store.content.isHeld(img.config.digest as Digest), false, 'holds are released');
});
