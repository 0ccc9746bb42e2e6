// Fixture images built locally (no network): random-content layers, a config whose
// rootfs.diff_ids match, OCI and Docker schema 2 manifests, multi-arch indexes, and writers for
// an OCI image layout directory and a `docker load` archive.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Blob {
  mediaType: string;
  digest: string;
  size: number;
  bytes: Buffer;
}

export interface Layer extends Blob {
  /** sha256 of the uncompressed tar (what the config's rootfs.diff_ids lists). */
  diffId: string;
  tar: Buffer;
  /** path inside the image -> content */
  files: Map<string, Buffer>;
}

export interface TestImage {
  kind: 'image';
  platform: Platform;
  config: Blob;
  layers: Layer[];
  manifest: Blob;
}

export interface TestIndex {
  kind: 'index';
  index: Blob;
  images: TestImage[];
}

export type Format = 'oci' | 'docker';

export interface ImageOptions {
  /** Number of layers (default 2), each with `filesPerLayer` random files of `fileSize` bytes. */
  layers?: number;
  filesPerLayer?: number;
  fileSize?: number;
  /** Overrides `layers`: one layer per entry, holding that many random bytes in one file. */
  layerSizes?: number[];
  platform?: Platform;
  format?: Format;
}

export const hostPlatform: Platform = {
  os: 'linux',
  architecture: process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : process.arch,
};

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function hex(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1);
}

function blob(mediaType: string, bytes: Buffer): Blob {
  return { mediaType, digest: sha256(bytes), size: bytes.length, bytes };
}

function collect(stream: { on(event: string, fn: (arg: any) => void): unknown }, chunks: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
}

async function tarOf(files: Map<string, Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = collect(pack, chunks);
  const mtime = new Date('2024-01-01T00:00:00Z');
  const dirs = new Set<string>();
  for (const path of files.keys()) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  for (const dir of [...dirs].sort()) {
    pack.entry({ name: `${dir}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime });
  }
  for (const [name, content] of files) {
    pack.entry({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime, size: content.length }, content);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A gzipped layer of the format's media type from its uncompressed tar (`files`: what it holds, for checks). */
export function layerOf(tarBytes: Buffer, format: Format, files = new Map<string, Buffer>()): Layer {
  const gz = gzipSync(tarBytes);
  const mediaType = format === 'oci' ? MT.ociLayerGzip : MT.dockerLayerGzip;
  return { ...blob(mediaType, gz), diffId: sha256(tarBytes), tar: tarBytes, files };
}

async function makeLayer(index: number, id: string, files: number, fileSize: number, format: Format): Promise<Layer> {
  const content = new Map<string, Buffer>();
  content.set(`tsdtest/${id}/layer${index}/README`, Buffer.from(`layer ${index} of test image ${id}\n`));
  for (let f = 0; f < files; f++) content.set(`tsdtest/${id}/layer${index}/data${f}.bin`, randomBytes(fileSize));
  return layerOf(await tarOf(content), format, content);
}

function descriptor(b: Blob, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { mediaType: b.mediaType, digest: b.digest, size: b.size, ...extra };
}

/**
 * The image over `layers`: its config (`config` plus the rootfs of the layers' diff IDs) and its
 * manifest, in the format's media types. `indent` pretty-prints the manifest.
 */
export function imageOf(layers: Layer[], config: Record<string, unknown>, format: Format, platform: Platform = hostPlatform, indent?: number): TestImage {
  // The rootfs before the history, in docker's order: with it last, the config that docker pushed
  // after a docker load had another digest than ours (test/interop/cross-client).
  const { history, ...rest } = config;
  const configJson = { ...rest, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) }, ...(history === undefined ? {} : { history }) };
  const configBlob = blob(format === 'oci' ? MT.ociConfig : MT.dockerConfig, Buffer.from(JSON.stringify(configJson)));
  const manifestJson = {
    schemaVersion: 2,
    mediaType: format === 'oci' ? MT.ociManifest : MT.dockerManifest,
    config: descriptor(configBlob),
    layers: layers.map((l) => descriptor(l)),
  };
  const manifest = blob(manifestJson.mediaType, Buffer.from(JSON.stringify(manifestJson, null, indent)));
  return { kind: 'image', platform, config: configBlob, layers, manifest };
}

/** One image with random content: every call gives new digests. */
export async function buildImage(options: ImageOptions = {}): Promise<TestImage> {
  const format = options.format ?? 'oci';
  const platform = options.platform ?? hostPlatform;
  const id = randomBytes(6).toString('hex');
  const sizes = options.layerSizes;
  const count = sizes ? sizes.length : (options.layers ?? 2);
  const layers: Layer[] = [];
  for (let i = 0; i < count; i++) {
    layers.push(
      sizes
        ? await makeLayer(i, id, 1, sizes[i]!, format)
        : await makeLayer(i, id, options.filesPerLayer ?? 3, options.fileSize ?? 4096, format),
    );
  }
  const config = {
    created: '2024-01-01T00:00:00Z',
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: platform.os,
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['/bin/sh'],
      Labels: { 'org.tsdocker.test.id': id },
    },
    history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `tsdocker test layer ${i}` })),
  };
  return imageOf(layers, config, format, platform, 2);
}

/** A multi-platform index (default linux/amd64 + linux/arm64), one fresh image per platform. */
export async function buildIndex(
  options: Omit<ImageOptions, 'platform'> & { platforms?: Platform[] } = {},
): Promise<TestIndex> {
  const format = options.format ?? 'oci';
  const platforms = options.platforms ?? [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64' },
  ];
  const images: TestImage[] = [];
  for (const platform of platforms) images.push(await buildImage({ ...options, platform }));
  const indexJson = {
    schemaVersion: 2,
    mediaType: format === 'oci' ? MT.ociIndex : MT.dockerManifestList,
    manifests: images.map((img) => descriptor(img.manifest, { platform: img.platform })),
  };
  return { kind: 'index', index: blob(indexJson.mediaType, Buffer.from(JSON.stringify(indexJson, null, 2))), images };
}

export function blobsOf(item: TestImage | TestIndex): Blob[] {
  if (item.kind === 'index') return [item.index, ...item.images.flatMap(blobsOf)];
  return [item.manifest, item.config, ...item.layers];
}

export function topBlob(item: TestImage | TestIndex): Blob {
  return item.kind === 'index' ? item.index : item.manifest;
}

/** Write an OCI image layout directory; each entry is reachable as `oci:DIR:TAG`. */
export async function writeOciLayout(dir: string, entries: Array<{ tag: string; image: TestImage | TestIndex }>): Promise<void> {
  const blobDir = join(dir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  for (const { image } of entries) {
    for (const b of blobsOf(image)) await writeFile(join(blobDir, hex(b.digest)), b.bytes);
  }
  const index = {
    schemaVersion: 2,
    mediaType: MT.ociIndex,
    manifests: entries.map(({ tag, image }) =>
      descriptor(topBlob(image), { annotations: { 'org.opencontainers.image.ref.name': tag } }),
    ),
  };
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}

/**
 * Write a tarball in the format `docker save` produces and `docker load` accepts: manifest.json,
 * the config as <hex>.json, and each layer uncompressed as <diffid-hex>/layer.tar.
 */
export async function writeDockerArchive(file: string, image: TestImage, repoTags: string[]): Promise<void> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = collect(pack, chunks);
  const mtime = new Date('2024-01-01T00:00:00Z');
  const configName = `${hex(image.config.digest)}.json`;
  const layerNames = image.layers.map((l) => `${hex(l.diffId)}/layer.tar`);
  const manifest = [{ Config: configName, RepoTags: repoTags, Layers: layerNames }];
  const add = (name: string, content: Buffer) =>
    pack.entry({ name, type: 'file', mode: 0o644, mtime, size: content.length }, content);
  add(configName, image.config.bytes);
  image.layers.forEach((l, i) => {
    pack.entry({ name: `${hex(l.diffId)}/`, type: 'directory', mode: 0o755, mtime });
    add(layerNames[i]!, l.tar);
  });
  add('manifest.json', Buffer.from(JSON.stringify(manifest)));
  pack.finalize();
  await done;
  await writeFile(file, Buffer.concat(chunks));
}

export interface LayoutImage {
  digest: string;
  mediaType: string;
  manifest: any;
  /** For an image manifest: its config digest and layer digests. For an index: the children. */
  configDigest?: string;
  layerDigests?: string[];
  children?: LayoutImage[];
}

/**
 * Read what a client wrote into an OCI layout: resolves `tag` (or the only entry) and checks that
 * every referenced blob exists and hashes to its name.
 */
export async function readOciLayout(dir: string, tag?: string): Promise<LayoutImage> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
  const entries: any[] = index.manifests ?? [];
  const entry = tag === undefined ? entries[0] : entries.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!entry) throw new Error(`no entry ${tag ?? ''} in ${dir}/index.json: ${JSON.stringify(index)}`);
  const readBlob = async (digest: string, size?: number): Promise<Buffer> => {
    const bytes = await readFile(join(dir, 'blobs', 'sha256', hex(digest)));
    if (sha256(bytes) !== digest) throw new Error(`blob ${digest} in ${dir} has digest ${sha256(bytes)}`);
    if (size !== undefined && bytes.length !== size) throw new Error(`blob ${digest} in ${dir} is ${bytes.length} bytes, descriptor says ${size}`);
    return bytes;
  };
  const load = async (desc: { digest: string; size?: number; mediaType?: string }): Promise<LayoutImage> => {
    const manifest = JSON.parse((await readBlob(desc.digest, desc.size)).toString('utf8'));
    const mediaType = manifest.mediaType ?? desc.mediaType;
    if (Array.isArray(manifest.manifests)) {
      const children: LayoutImage[] = [];
      for (const m of manifest.manifests) children.push(await load(m));
      return { digest: desc.digest, mediaType, manifest, children };
    }
    await readBlob(manifest.config.digest, manifest.config.size);
    for (const l of manifest.layers) await readBlob(l.digest, l.size);
    return {
      digest: desc.digest,
      mediaType,
      manifest,
      configDigest: manifest.config.digest,
      layerDigests: manifest.layers.map((l: { digest: string }) => l.digest),
    };
  };
  return load(entry);
}

/** Names of the blobs in an OCI layout directory, as digests. */
export async function layoutBlobDigests(dir: string): Promise<string[]> {
  return (await readdir(join(dir, 'blobs', 'sha256'))).map((h) => `sha256:${h}`).sort();
}
