/**
 * Benchmark images made from this machine's own files (no network): each layer is a gzip'd tar of
 * files taken in path order from some host directories until the compressed layer reaches a
 * target size, so a "56 MB in 3 layers" image is close to a Debian base image in shape.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, readdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { constants, createGzip, gzipSync } from 'node:zlib';
import { pack as tarPack, type Pack } from 'tar-stream';

export interface BuiltBlob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface BuiltLayer extends BuiltBlob {
  diffId: string;
  files: number;
  tarSize: number;
}

export interface BuiltImage {
  config: BuiltBlob;
  manifest: BuiltBlob;
  layers: BuiltLayer[];
}

const maxFileBytes = 4e6;

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function* walk(dir: string): AsyncGenerator<string> {
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    return;
  }
  for (const name of names) {
    const p = join(dir, name);
    const s = await lstat(p).catch(() => undefined);
    if (!s) continue;
    if (s.isDirectory()) yield* walk(p);
    else if (s.isFile() || s.isSymbolicLink()) yield p;
  }
}

function entry(pack: Pack, header: Parameters<Pack['entry']>[0], body?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const cb = (err?: Error | null) => (err ? reject(err) : resolve());
    if (body) pack.entry(header, body, cb);
    else pack.entry(header, cb);
  });
}

/** A tar+gzip layer of host files under `roots`, cut once the gzip output passes `targetBytes`. */
export async function hostLayer(roots: string[], targetBytes: number): Promise<BuiltLayer> {
  const pack = tarPack();
  const gzip = createGzip({ level: 6 });
  const tarHash = createHash('sha256');
  let tarSize = 0;
  const gzChunks: Buffer[] = [];
  let gzSize = 0;
  pack.on('data', (c: unknown) => {
    tarHash.update(c as Buffer);
    tarSize += (c as Buffer).length;
  });
  pack.pipe(gzip);
  gzip.on('data', (c: Buffer) => {
    gzChunks.push(c);
    gzSize += c.length;
  });
  const gzDone = new Promise<void>((resolve, reject) => {
    gzip.on('end', resolve);
    gzip.on('error', reject);
  });
  const dirs = new Set<string>();
  let files = 0;
  let flushedAt = 0;
  const mtime = new Date('2024-01-01T00:00:00Z');
  outer: for (const root of roots) {
    for await (const path of walk(root)) {
      if (gzSize >= targetBytes) break outer;
      const rel = path.slice(1);
      const parts = rel.split('/');
      for (let i = 1; i < parts.length; i++) {
        const d = parts.slice(0, i).join('/');
        if (!dirs.has(d)) {
          dirs.add(d);
          await entry(pack, { name: `${d}/`, type: 'directory', mode: 0o755, mtime });
        }
      }
      const s = await lstat(path);
      if (s.size > maxFileBytes) continue; // one huge library would be most of a layer
      if (s.isSymbolicLink()) {
        await entry(pack, { name: rel, type: 'symlink', linkname: await readlink(path), mode: 0o777, mtime });
      } else {
        const chunks: Buffer[] = [];
        try {
          for await (const c of createReadStream(path)) chunks.push(c as Buffer);
        } catch {
          continue; // unreadable: skip
        }
        const body = Buffer.concat(chunks);
        await entry(pack, { name: rel, type: 'file', mode: s.mode & 0o7777, size: body.length, mtime }, body);
      }
      files++;
      // Every ~2 MB of tar, let gzip catch up (a sync flush) so the size check above is exact enough.
      if (tarSize - flushedAt > 2e6) {
        flushedAt = tarSize;
        await new Promise<void>((r) => setImmediate(r));
        await new Promise<void>((r) => gzip.flush(constants.Z_SYNC_FLUSH, () => r()));
      }
    }
  }
  pack.finalize();
  await gzDone;
  const bytes = Buffer.concat(gzChunks);
  return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(bytes), size: bytes.length, bytes, diffId: `sha256:${tarHash.digest('hex')}`, files, tarSize };
}

/** A small layer of `count` random files. */
export async function smallLayer(index: number, count: number, size: number): Promise<BuiltLayer> {
  const pack = tarPack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((r) => pack.on('end', () => r()));
  const mtime = new Date('2024-01-01T00:00:00Z');
  await entry(pack, { name: `layer${index}/`, type: 'directory', mode: 0o755, mtime });
  for (let i = 0; i < count; i++) {
    const body = Buffer.from(randomBytes(size / 2).toString('hex'));
    await entry(pack, { name: `layer${index}/f${i}.txt`, type: 'file', mode: 0o644, size: body.length, mtime }, body);
  }
  pack.finalize();
  await ended;
  const tar = Buffer.concat(chunks);
  const bytes = gzipSync(tar);
  return { mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(bytes), size: bytes.length, bytes, diffId: sha256(tar), files: count, tarSize: tar.length };
}

export function imageOf(layers: BuiltLayer[]): BuiltImage {
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  const configBytes = Buffer.from(
    JSON.stringify({
      created: '2024-01-01T00:00:00Z',
      architecture: arch,
      os: 'linux',
      config: { Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
      history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `bench layer ${i}` })),
    }),
  );
  const config: BuiltBlob = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(configBytes), size: configBytes.length, bytes: configBytes };
  const manifestBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  const manifest: BuiltBlob = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifestBytes), size: manifestBytes.length, bytes: manifestBytes };
  return { config, manifest, layers };
}

/** Write images into an OCI layout directory, each under its tag. */
export async function writeLayout(dir: string, images: Array<{ tag: string; image: BuiltImage }>): Promise<void> {
  const blobs = join(dir, 'blobs', 'sha256');
  await mkdir(blobs, { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const { image } of images) {
    for (const b of [image.config, image.manifest, ...image.layers]) await writeFile(join(blobs, b.digest.slice(7)), b.bytes);
  }
  await writeFile(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: images.map(({ tag, image }) => ({
        mediaType: image.manifest.mediaType,
        digest: image.manifest.digest,
        size: image.manifest.size,
        annotations: { 'org.opencontainers.image.ref.name': tag },
      })),
    }),
  );
}
