/**
 * `docker save` / `docker load` for the engine's image store.
 *
 * save writes the layout docker >= 25 writes: an OCI image layout (oci-layout, index.json,
 * blobs/sha256/...) with docker's manifest.json beside it, whose Config and Layers point into
 * blobs/. Older `docker load` (20.10, the one on this machine) reads only manifest.json and
 * decompresses layers itself; newer ones and skopeo read either part. Blobs are written exactly as
 * stored, so image IDs, manifest digests and layer digests survive a save -> load round trip.
 * saveOci writes the OCI layout alone.
 *
 * load accepts both (plain or gzip-compressed), and the classic archive of older docker
 * (<hex>.json + <id>/layer.tar, with symlinks for repeated layers). Every entry is first staged
 * under <data-root>/tmp while being hashed; then every blob is checked against its name or
 * descriptor, every layer against the config's DiffID, and only then are blobs committed to the
 * content store and all image records written in one atomic change. Any failure leaves the store
 * as it was. Layers are kept as they come: an uncompressed docker-archive layer is stored
 * uncompressed (its digest is its DiffID) and described by a synthesised OCI manifest with
 * `application/vnd.oci.image.layer.v1.tar` layers; a compressed one keeps its compression.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { PassThrough, Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import type { Digest } from '../../shared/digest.js';
import { TsdError } from '../../shared/errors.js';
import { maxManifestBytes, parseManifest, type Descriptor, type ImageManifest } from '../../shared/manifest.js';
import { MediaTypes } from '../../shared/media-types.js';
import { familiarName, parseImageReference } from '../../shared/reference.js';
import { canonicalTag, familiar, type ImageStore } from './image-store.js';
import { blobsOfRecord, describeImage, parseConfig, type ImageRecord, type NewImage } from './record.js';
import { TarWriter, readTar } from './tar.js';

const maxEntries = 100_000;
const maxLinkDepth = 16;
const metadataFiles = new Map([
  ['manifest.json', maxManifestBytes],
  ['index.json', maxManifestBytes],
  ['oci-layout', 64 * 1024],
  ['repositories', maxManifestBytes],
]);

type Compression = 'none' | 'gzip' | 'zstd';

function compressionOf(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  return 'none';
}

function zstdDecompressor(): NodeJS.ReadWriteStream {
  const make = (zlib as unknown as { createZstdDecompress?: () => NodeJS.ReadWriteStream }).createZstdDecompress;
  if (!make) throw new TsdError('UNSUPPORTED', 'zstd-compressed content needs a Node.js with zlib zstd support');
  return make();
}

function hostile(message: string, detail?: unknown): TsdError {
  return new TsdError('INVALID_ARGUMENT', `refusing archive: ${message}`, { detail: detail ?? { reason: 'archive-invalid' } });
}

/** An archive entry name, normalised (no `./`, no trailing `/`); traversal and absolute names are refused. */
export function archivePath(name: string, where = 'entry'): string {
  if (name.includes('\0') || name.includes('\\')) throw hostile(`${where} name ${JSON.stringify(name.slice(0, 200))} has a forbidden character`);
  if (name.startsWith('/')) throw hostile(`${where} name ${JSON.stringify(name.slice(0, 200))} is absolute`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) throw hostile(`${where} name ${JSON.stringify(name.slice(0, 200))} leaves the archive`);
  if (parts.length === 0) throw hostile(`${where} name is empty`);
  return parts.join('/');
}

interface StagedFile {
  file: string;
  digest: Digest;
  size: number;
  compression: Compression;
}

/** The entries of an archive, staged on disk. */
class Staging {
  readonly files = new Map<string, StagedFile>();
  readonly links = new Map<string, { target: string; hard: boolean }>();
  private count = 0;

  constructor(readonly dir: string) {}

  async add(name: string, body: AsyncIterable<Buffer>, limit: number): Promise<void> {
    const file = join(this.dir, String(this.count++));
    const hash = createHash('sha256');
    let size = 0;
    let head = Buffer.alloc(0);
    const out = createWriteStream(file, { mode: 0o600 });
    const counted = async function* () {
      for await (const chunk of body) {
        size += chunk.length;
        if (size > limit) throw new TsdError('MANIFEST_TOO_LARGE', `archive ${name} is over the ${limit} byte limit`);
        if (head.length < 4) head = Buffer.concat([head, chunk.subarray(0, 4)]);
        hash.update(chunk);
        yield chunk;
      }
    };
    await pipeline(counted, out);
    this.files.set(name, { file, digest: `sha256:${hash.digest('hex')}` as Digest, size, compression: compressionOf(head) });
  }

  /** The staged file an archive path names, following symlinks and hardlinks inside the archive. */
  lookup(path: string, where: string): StagedFile {
    let name = archivePath(path, where);
    for (let depth = 0; depth < maxLinkDepth; depth++) {
      const f = this.files.get(name);
      if (f) return f;
      const link = this.links.get(name);
      if (!link) throw hostile(`${where} ${JSON.stringify(path)} is not in the archive`, { reason: 'missing', path });
      const target = link.hard ? link.target : posix.join(posix.dirname(name), link.target);
      if (link.target.startsWith('/') || posix.normalize(target).startsWith('../') || posix.normalize(target) === '..') {
        throw hostile(`link ${name} points outside the archive`);
      }
      name = archivePath(posix.normalize(target), 'link target');
    }
    throw hostile(`too many links resolving ${path}`);
  }

  has(path: string): boolean {
    try {
      this.lookup(path, 'entry');
      return true;
    } catch {
      return false;
    }
  }

  async read(path: string, where: string, limit: number): Promise<Buffer> {
    const f = this.lookup(path, where);
    if (f.size > limit) throw new TsdError('MANIFEST_TOO_LARGE', `${where} ${path} is ${f.size} bytes, over the ${limit} byte limit`);
    return readFile(f.file);
  }

  /** A blob of an OCI layout by digest. */
  blobPath(d: Digest): string {
    return `blobs/${d.replace(':', '/')}`;
  }
}

async function* decompressed(input: Readable): AsyncGenerator<Buffer> {
  const it = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const first = await it.next();
  if (first.done) return;
  const rest = async function* () {
    yield first.value;
    for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
  };
  const kind = compressionOf(first.value);
  if (kind === 'none') {
    yield* rest();
    return;
  }
  const inflate = kind === 'gzip' ? zlib.createGunzip() : zstdDecompressor();
  const source = Readable.from(rest());
  const out = new PassThrough();
  const done = pipeline(source, inflate, out).catch((err: unknown) => {
    out.destroy(err as Error);
  });
  for await (const chunk of out) yield chunk as Buffer;
  await done;
}

async function diffIdOf(f: StagedFile): Promise<Digest> {
  if (f.compression === 'none') return f.digest;
  const hash = createHash('sha256');
  const inflate = f.compression === 'gzip' ? zlib.createGunzip() : zstdDecompressor();
  try {
    await pipeline(createReadStream(f.file), inflate, async function (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) hash.update(chunk);
    });
  } catch (err) {
    throw new TsdError('DIGEST_INVALID', `layer ${f.digest} does not decompress: ${(err as Error).message}`, { cause: err });
  }
  return `sha256:${hash.digest('hex')}` as Digest;
}

interface Planned {
  image: NewImage;
  tags: string[];
  /** Staged content per digest for every blob the record needs (or bytes made here). */
  blobs: Map<Digest, StagedFile | Buffer>;
}

export interface LoadResult {
  images: Array<{ id: Digest; tags: string[] }>;
  /** docker's output lines: `Loaded image: debian:latest` / `Loaded image ID: sha256:...`. */
  messages: string[];
}

/**
 * Load a docker-archive or OCI layout tar (optionally gzip-compressed). `repository` names images
 * of an OCI layout whose ref.name annotation is a bare tag; without it such images load untagged.
 */
export async function load(store: ImageStore, input: Readable, options: { repository?: string } = {}): Promise<LoadResult> {
  const dir = join(store.dataRoot, 'tmp', `load-${randomBytes(8).toString('hex')}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    const staging = new Staging(dir);
    let entries = 0;
    const seen = new Set<string>();
    await readTar(decompressed(input), async (header, body) => {
      if (++entries > maxEntries) throw hostile(`more than ${maxEntries} entries`);
      // `./` (the archive root, as `tar -C dir .` writes it) is the one name allowed to be empty.
      if (header.type === 'dir' && header.name.split('/').every((p) => p === '' || p === '.') && !header.name.startsWith('/')) return;
      const name = archivePath(header.name);
      if (header.type === 'dir') return;
      if (seen.has(name)) throw hostile(`entry ${name} appears twice`);
      seen.add(name);
      if (header.type === 'symlink' || header.type === 'link') {
        if (header.linkname.startsWith('/')) throw hostile(`link ${name} has an absolute target`);
        if (header.type === 'link') archivePath(header.linkname, 'hardlink target');
        staging.links.set(name, { target: header.linkname, hard: header.type === 'link' });
        return;
      }
      if (header.type !== 'file') throw hostile(`entry ${name} is not a file, directory or link`);
      const limit = metadataFiles.get(name);
      if (limit !== undefined && header.size > limit) {
        throw new TsdError('MANIFEST_TOO_LARGE', `archive ${name} is ${header.size} bytes, over the ${limit} byte limit`);
      }
      await staging.add(name, body, limit ?? Number.POSITIVE_INFINITY);
    });
    // Every blob of an OCI layout must hash to its name.
    for (const [name, f] of staging.files) {
      const m = /^blobs\/(sha256|sha512)\/([a-f0-9]+)$/.exec(name);
      if (!m) continue;
      if (m[1] !== 'sha256') throw new TsdError('UNSUPPORTED', `blob ${name}: only sha256 blobs are supported`);
      if (f.digest !== `sha256:${m[2]}`) {
        throw new TsdError('DIGEST_INVALID', `blob ${name} hashes to ${f.digest}`, { detail: { expected: `sha256:${m[2]}`, actual: f.digest } });
      }
    }
    const planned = staging.files.has('manifest.json') ? await planDockerArchive(staging) : await planOciLayout(staging, options.repository);
    if (planned.length === 0) throw hostile('no images in the archive');
    return await commit(store, planned);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function jsonOf(raw: Buffer, what: string): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new TsdError('MANIFEST_INVALID', `${what} is not valid JSON`, { cause: err });
  }
}

async function verifyLayers(layers: Array<{ file: StagedFile; descriptor?: Descriptor }>, diffIds: Digest[], where: string): Promise<void> {
  if (layers.length !== diffIds.length) throw new TsdError('MANIFEST_INVALID', `${where}: ${layers.length} layers but ${diffIds.length} DiffIDs in the config`);
  for (let i = 0; i < layers.length; i++) {
    const { file, descriptor } = layers[i]!;
    if (descriptor && (descriptor.digest !== file.digest || descriptor.size !== file.size)) {
      throw new TsdError('DIGEST_INVALID', `${where}: layer ${i} is ${file.digest} (${file.size} bytes), the manifest says ${descriptor.digest} (${descriptor.size})`);
    }
    const diffId = await diffIdOf(file);
    if (diffId !== diffIds[i]) {
      throw new TsdError('DIGEST_INVALID', `${where}: layer ${i} has DiffID ${diffId}, the config says ${diffIds[i]}`, {
        detail: { expected: diffIds[i], actual: diffId },
      });
    }
  }
}

function layerMediaType(c: Compression): string {
  return c === 'gzip' ? MediaTypes.ociLayerGzip : c === 'zstd' ? MediaTypes.ociLayerZstd : MediaTypes.ociLayer;
}

async function planDockerArchive(staging: Staging): Promise<Planned[]> {
  const doc = jsonOf(await staging.read('manifest.json', 'manifest.json', maxManifestBytes), 'manifest.json');
  if (!Array.isArray(doc)) throw new TsdError('MANIFEST_INVALID', 'manifest.json must be an array');
  // Manifests of the OCI layout written beside manifest.json (docker >= 25), to keep their digests.
  const ociManifests = staging.files.has('index.json') ? await ociManifestsOf(staging) : [];
  const out: Planned[] = [];
  for (const [i, entry] of doc.entries()) {
    const e = entry as { Config?: unknown; RepoTags?: unknown; Layers?: unknown };
    if (typeof e.Config !== 'string' || !Array.isArray(e.Layers) || e.Layers.some((l) => typeof l !== 'string')) {
      throw new TsdError('MANIFEST_INVALID', `manifest.json[${i}] needs Config and Layers`);
    }
    const repoTags = e.RepoTags === undefined || e.RepoTags === null ? [] : e.RepoTags;
    if (!Array.isArray(repoTags) || repoTags.some((t) => typeof t !== 'string')) throw new TsdError('MANIFEST_INVALID', `manifest.json[${i}].RepoTags must be strings`);
    const configPath = archivePath(e.Config, 'manifest.json Config');
    const layerPaths = (e.Layers as string[]).map((l) => archivePath(l, 'manifest.json layer'));
    const configFile = staging.lookup(configPath, 'config');
    const configRaw = await staging.read(configPath, 'config', 8 * 1024 * 1024);
    const config = parseConfig(configRaw, configPath);
    const diffIds = config.rootfs!.diff_ids as Digest[];
    const layerFiles = layerPaths.map((p) => staging.lookup(p, 'layer'));
    await verifyLayers(layerFiles.map((file) => ({ file })), diffIds, `manifest.json[${i}]`);
    const tags = (repoTags as string[]).map(canonicalTag);
    const blobs = new Map<Digest, StagedFile | Buffer>();
    blobs.set(configFile.digest, configFile);
    for (const f of layerFiles) blobs.set(f.digest, f);
    const match = ociManifests.find(
      (m) => m.value.config.digest === configFile.digest && m.value.layers.length === layerFiles.length && m.value.layers.every((l, j) => l.digest === layerFiles[j]!.digest),
    );
    let manifest: { digest: Digest; mediaType: string; size: number; value: ImageManifest };
    if (match) {
      manifest = match;
      blobs.set(match.digest, staging.lookup(staging.blobPath(match.digest), 'manifest'));
    } else {
      const value: ImageManifest = {
        schemaVersion: 2,
        mediaType: MediaTypes.ociManifest,
        config: { mediaType: MediaTypes.ociConfig, digest: configFile.digest, size: configFile.size },
        layers: layerFiles.map((f) => ({ mediaType: layerMediaType(f.compression), digest: f.digest, size: f.size })),
      };
      const raw = Buffer.from(JSON.stringify(value));
      const parsed = parseManifest(raw);
      manifest = { digest: parsed.digest, mediaType: parsed.mediaType, size: raw.length, value };
      blobs.set(parsed.digest, raw);
    }
    const image: NewImage = {
      id: configFile.digest,
      target: { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.size },
      manifest: { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.size },
      config: manifest.value.config,
      layers: manifest.value.layers,
      diffIds,
    };
    if (config.os && config.architecture) image.platform = { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) };
    if (config.created) image.created = config.created;
    out.push({ image, tags, blobs });
  }
  return out;
}

/** Image manifests reachable from index.json whose blobs are in the archive (index children included). */
async function ociManifestsOf(staging: Staging): Promise<Array<{ digest: Digest; mediaType: string; size: number; value: ImageManifest }>> {
  const out: Array<{ digest: Digest; mediaType: string; size: number; value: ImageManifest }> = [];
  const index = parseManifest(await staging.read('index.json', 'index.json', maxManifestBytes), MediaTypes.ociIndex);
  const visit = async (descs: Descriptor[], depth: number) => {
    for (const d of descs) {
      if (depth > 4 || !staging.has(staging.blobPath(d.digest))) continue;
      const m = parseManifest(await staging.read(staging.blobPath(d.digest), 'manifest', maxManifestBytes));
      if (m.kind === 'index') await visit(m.manifests, depth + 1);
      else out.push({ digest: m.digest, mediaType: m.mediaType, size: m.raw.length, value: m.value as ImageManifest });
    }
  };
  await visit(index.manifests, 0);
  return out;
}

async function planOciLayout(staging: Staging, repository: string | undefined): Promise<Planned[]> {
  if (!staging.files.has('oci-layout') || !staging.files.has('index.json')) {
    throw hostile('neither a docker archive (manifest.json) nor an OCI layout (oci-layout, index.json)');
  }
  const layout = jsonOf(await staging.read('oci-layout', 'oci-layout', 64 * 1024), 'oci-layout') as { imageLayoutVersion?: unknown };
  if (typeof layout?.imageLayoutVersion !== 'string') throw new TsdError('MANIFEST_INVALID', 'oci-layout has no imageLayoutVersion');
  const index = parseManifest(await staging.read('index.json', 'index.json', maxManifestBytes), MediaTypes.ociIndex);
  if (index.kind !== 'index') throw new TsdError('MANIFEST_INVALID', 'index.json is not an image index');
  const getBlob = (d: Digest) => staging.read(staging.blobPath(d), 'blob', 8 * 1024 * 1024);
  const byId = new Map<Digest, Planned>();
  for (const desc of index.manifests) {
    const image = await describeImage(getBlob, desc);
    const blobs = new Map<Digest, StagedFile | Buffer>();
    for (const d of [image.target.digest, image.manifest.digest, image.config.digest]) blobs.set(d, staging.lookup(staging.blobPath(d), 'blob'));
    const layerFiles = image.layers.map((l) => ({ file: staging.lookup(staging.blobPath(l.digest), 'layer'), descriptor: l }));
    await verifyLayers(layerFiles, image.diffIds, `image ${image.id}`);
    for (const { file } of layerFiles) blobs.set(file.digest, file);
    const tags: string[] = [];
    const full = desc.annotations?.['io.containerd.image.name'];
    const refName = desc.annotations?.['org.opencontainers.image.ref.name'];
    if (full) tags.push(canonicalTag(full));
    else if (refName !== undefined) {
      if (/^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/.test(refName)) {
        if (repository) tags.push(canonicalTag(`${familiarName(parseImageReference(repository))}:${refName}`));
      } else {
        tags.push(canonicalTag(refName));
      }
    }
    const known = byId.get(image.id);
    if (known) {
      for (const t of tags) if (!known.tags.includes(t)) known.tags.push(t);
    } else {
      byId.set(image.id, { image, tags, blobs });
    }
  }
  return [...byId.values()];
}

async function commit(store: ImageStore, planned: Planned[]): Promise<LoadResult> {
  const all = new Map<Digest, StagedFile | Buffer>();
  for (const p of planned) for (const [d, src] of p.blobs) all.set(d, src);
  const release = store.content.hold(all.keys());
  const created: Digest[] = [];
  try {
    for (const [digest, src] of all) {
      const result = Buffer.isBuffer(src)
        ? await store.content.put(src)
        : await store.content.ingest({ digest, size: src.size }, () => createReadStream(src.file));
      if (!result.existed) created.push(digest);
    }
    // Merge entries for one ID (an archive may list an image twice).
    const merged = new Map<Digest, Planned>();
    for (const p of planned) {
      const m = merged.get(p.image.id);
      if (m) m.tags.push(...p.tags.filter((t) => !m.tags.includes(t)));
      else merged.set(p.image.id, { ...p, tags: [...p.tags] });
    }
    const records = await store.addImages([...merged.values()].map((p) => ({ image: p.image, tags: p.tags })));
    const messages: string[] = [];
    for (const p of merged.values()) {
      if (p.tags.length === 0) messages.push(`Loaded image ID: ${p.image.id}`);
      for (const t of p.tags) messages.push(`Loaded image: ${familiar(t)}`);
    }
    return { images: records.map((r) => ({ id: r.id, tags: r.repoTags.map(familiar) })), messages };
  } catch (err) {
    release();
    const used = store.referencedBlobs();
    for (const d of created) if (!used.has(d)) await store.content.remove(d).catch(() => 0);
    throw err;
  } finally {
    release();
  }
}

// ---- save ------------------------------------------------------------------------------------

interface SaveSet {
  image: ImageRecord;
  /** Canonical tags to write for it. */
  tags: string[];
}

/** docker save's selection: a tag saves that tag; a bare name every tag of the repository; an ID the image untagged. */
function selectImages(store: ImageStore, refs: string[]): SaveSet[] {
  if (refs.length === 0) throw new TsdError('INVALID_ARGUMENT', 'nothing to save');
  const out = new Map<Digest, SaveSet>();
  const add = (image: ImageRecord, tag?: string) => {
    const s = out.get(image.id) ?? { image, tags: [] };
    if (tag && !s.tags.includes(tag)) s.tags.push(tag);
    out.set(image.id, s);
  };
  for (const ref of refs) {
    let nameOnly: { domain: string; repository: string } | undefined;
    try {
      const r = parseImageReference(ref, { defaultTag: '\0' });
      if (r.tag === '\0' && !r.digest) nameOnly = r;
    } catch {
      nameOnly = undefined;
    }
    if (nameOnly) {
      const prefix = `${nameOnly.domain}/${nameOnly.repository}:`;
      const matching = store.all().filter((img) => img.repoTags.some((t) => t.startsWith(prefix)));
      if (matching.length > 0) {
        for (const img of matching) for (const t of img.repoTags.filter((x) => x.startsWith(prefix))) add(img, t);
        continue;
      }
    }
    const found = store.resolve(ref);
    add(found.image, found.via === 'tag' ? found.reference : undefined);
  }
  return [...out.values()];
}

function blobName(d: Digest): string {
  return `blobs/${d.replace(':', '/')}`;
}

async function writeLayout(store: ImageStore, sets: SaveSet[], out: Writable, withDockerManifest: boolean): Promise<void> {
  const digests = new Set<Digest>();
  for (const { image } of sets) for (const d of [image.manifest.digest, image.config.digest, ...image.layers.map((l) => l.digest)]) digests.add(d);
  const release = store.content.hold(sets.flatMap((s) => blobsOfRecord(s.image)));
  try {
    const tar = new TarWriter(out);
    await tar.file('oci-layout', 30, Buffer.from('{"imageLayoutVersion":"1.0.0"}'));
    await tar.directory('blobs');
    await tar.directory('blobs/sha256');
    for (const d of digests) {
      const { size } = await store.content.stat(d);
      await tar.file(blobName(d), size, await store.content.open(d));
    }
    const manifests: Descriptor[] = [];
    for (const { image, tags } of sets) {
      const base: Descriptor = { mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size };
      if (image.platform) base.platform = image.platform;
      if (tags.length === 0) manifests.push(base);
      for (const t of tags) {
        const tag = parseImageReference(t).tag!;
        manifests.push({ ...base, annotations: { 'io.containerd.image.name': t, 'org.opencontainers.image.ref.name': tag } });
      }
    }
    const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests }));
    await tar.file('index.json', index.length, index);
    if (withDockerManifest) {
      const entries = sets.map(({ image, tags }) => ({
        Config: blobName(image.config.digest),
        RepoTags: tags.map(familiar),
        Layers: image.layers.map((l) => blobName(l.digest)),
      }));
      const manifest = Buffer.from(JSON.stringify(entries));
      await tar.file('manifest.json', manifest.length, manifest);
    }
    await tar.finish();
  } finally {
    release();
  }
}

/** `docker save`: a docker archive (docker >= 25 layout: OCI layout + manifest.json) of the named images. */
export async function save(store: ImageStore, refs: string[], out: Writable): Promise<void> {
  await writeLayout(store, selectImages(store, refs), out, true);
}

/** An OCI image layout tarball of the named images (`org.opencontainers.image.ref.name` = tag). */
export async function saveOci(store: ImageStore, refs: string[], out: Writable): Promise<void> {
  await writeLayout(store, selectImages(store, refs), out, false);
}

