/**
 * What the image store keeps per image, and how an image is described from its manifest: the
 * target (manifest or index) -> the platform's manifest -> config + layers + DiffIDs.
 */
import { isDigest, type Digest } from '../../shared/digest.js';
import { TsdError } from '../../shared/errors.js';
import { parseManifest, type Descriptor, type ImageConfig, type ImageManifest, type Platform } from '../../shared/manifest.js';

export interface ContentRef {
  digest: Digest;
  mediaType: string;
  size: number;
}

export interface ImageRecord {
  /** The image ID: the config digest (as docker). */
  id: Digest;
  /** What a name resolved to when pulled / loaded: an image manifest, or an index. */
  target: ContentRef;
  /** The image manifest (the platform's, when the target is an index). */
  manifest: ContentRef;
  platform?: Platform;
  config: Descriptor;
  layers: Descriptor[];
  diffIds: Digest[];
  /** Canonical references `docker.io/library/debian:latest` (shown familiar by the views). */
  repoTags: string[];
  /** Canonical `name@sha256:...` of the target as pulled or pushed. */
  repoDigests: string[];
  /** The config's `created`, or the time the record was made when the config has none. */
  created: string;
  /** Bytes of the layers as stored (uncompressed layers: their unpacked size), unless the caller knows better. */
  size: number;
  /** When a tag last moved onto this image. */
  lastTagTime?: string;
}

export type NewImage = Omit<ImageRecord, 'repoTags' | 'repoDigests' | 'lastTagTime' | 'created' | 'size'> & {
  created?: string;
  size?: number;
};

/** Limits on JSON documents read from content or archives. */
export const maxConfigBytes = 8 * 1024 * 1024;

export const hostPlatform: Platform = {
  os: 'linux',
  architecture: process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : process.arch === 'arm' ? 'arm' : process.arch,
  ...(process.arch === 'arm64' ? { variant: 'v8' } : {}),
};

function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have || have.os !== want.os || have.architecture !== want.architecture) return false;
  if (want.variant && have.variant && want.variant !== have.variant) return false;
  return true;
}

export function parseConfig(raw: Buffer, where: string): ImageConfig {
  if (raw.length > maxConfigBytes) throw new TsdError('MANIFEST_TOO_LARGE', `${where}: config is ${raw.length} bytes, over ${maxConfigBytes}`);
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new TsdError('MANIFEST_INVALID', `${where}: config is not valid JSON`, { cause: err });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new TsdError('MANIFEST_INVALID', `${where}: config must be an object`);
  const config = doc as ImageConfig;
  const rootfs = config.rootfs;
  if (!rootfs || !Array.isArray(rootfs.diff_ids) || rootfs.diff_ids.some((d) => typeof d !== 'string' || !isDigest(d))) {
    throw new TsdError('MANIFEST_INVALID', `${where}: config has no valid rootfs.diff_ids`);
  }
  return config;
}

/**
 * Describe the image a target names, reading blobs through `getBlob` (the content store, or an
 * archive being loaded). For an index, the manifest for `platform` (default: this host) is chosen.
 */
export async function describeImage(
  getBlob: (d: Digest) => Promise<Buffer>,
  target: { digest: Digest; mediaType?: string },
  options: { platform?: Platform } = {},
): Promise<NewImage> {
  const want = options.platform ?? hostPlatform;
  const targetRaw = await getBlob(target.digest);
  const top = parseManifest(targetRaw);
  if (top.digest !== target.digest) throw new TsdError('DIGEST_INVALID', `manifest ${target.digest} hashes to ${top.digest}`);
  let manifest = top;
  let platform: Platform | undefined;
  if (top.kind === 'index') {
    const images = top.manifests.filter((m) => m.platform?.os !== 'unknown');
    const chosen = images.find((m) => platformMatches(want, m.platform)) ?? (images.length === 1 && !images[0]!.platform ? images[0] : undefined);
    if (!chosen) {
      const v = want.variant ? `/${want.variant}` : '';
      throw new TsdError('NOT_FOUND', `no matching manifest for ${want.os}/${want.architecture}${v} in the manifest list entries`);
    }
    manifest = parseManifest(await getBlob(chosen.digest));
    if (manifest.digest !== chosen.digest) throw new TsdError('DIGEST_INVALID', `manifest ${chosen.digest} hashes to ${manifest.digest}`);
    if (manifest.kind !== 'manifest') throw new TsdError('MANIFEST_INVALID', 'nested indexes are not supported');
    platform = chosen.platform;
  }
  const value = manifest.value as ImageManifest;
  const configRaw = await getBlob(value.config.digest);
  const config = parseConfig(configRaw, value.config.digest);
  const diffIds = config.rootfs!.diff_ids as Digest[];
  if (diffIds.length !== value.layers.length) {
    throw new TsdError('MANIFEST_INVALID', `manifest has ${value.layers.length} layers, config lists ${diffIds.length} DiffIDs`);
  }
  platform ??= config.os && config.architecture ? { os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) } : undefined;
  const image: NewImage = {
    id: value.config.digest,
    target: { digest: top.digest, mediaType: top.mediaType, size: targetRaw.length },
    manifest: { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.raw.length },
    config: value.config,
    layers: value.layers,
    diffIds,
  };
  if (platform) image.platform = platform;
  if (config.created) image.created = config.created;
  return image;
}

/** Every blob an image record needs in the content store. */
export function blobsOfRecord(r: Pick<ImageRecord, 'target' | 'manifest' | 'config' | 'layers'>): Digest[] {
  return [...new Set([r.target.digest, r.manifest.digest, r.config.digest, ...r.layers.map((l) => l.digest)])];
}
