import { TsdError } from './errors.js';
import { digestOf, isDigest, type Digest } from './digest.js';
import { MediaTypes, baseMediaType, isWellFormedMediaType, manifestMediaTypes, type ManifestKind } from './media-types.js';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
  'os.version'?: string;
  'os.features'?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
  urls?: string[];
  data?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  created?: string;
  author?: string;
  config?: Record<string, unknown>;
  rootfs?: { type: string; diff_ids: string[] };
  history?: Array<{ created?: string; created_by?: string; empty_layer?: boolean; comment?: string; author?: string }>;
}

/** A parsed manifest that keeps the exact bytes it came from: the digest is over those bytes. */
export interface ParsedManifest {
  raw: Buffer;
  digest: Digest;
  mediaType: string;
  kind: ManifestKind;
  value: ImageManifest | ImageIndex;
  /** Blobs (config, layers) an image manifest needs, in order. Empty for an index. */
  blobs: Descriptor[];
  /** Manifests an index lists. Empty for an image manifest. */
  manifests: Descriptor[];
  subject?: Descriptor;
  /** The artifactType, or for an image manifest without one, the config media type (as the referrers API reports). */
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** Content types that say nothing about the manifest's kind (curl's default, or none in particular). */
const genericContentTypes = new Set(['application/json', 'application/octet-stream', 'application/x-www-form-urlencoded', 'text/plain']);

/** Distribution's default limit on a manifest body. */
export const maxManifestBytes = 4 * 1024 * 1024;

function invalid(message: string): TsdError {
  return new TsdError('MANIFEST_INVALID', message, { detail: message });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkAnnotations(v: unknown, where: string): void {
  if (v === undefined) return;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw invalid(`${where}: annotations must be a map of strings`);
  }
}

export function parseDescriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw invalid(`${where}: descriptor must be an object`);
  const { mediaType, digest, size } = v;
  if (typeof mediaType !== 'string' || !isWellFormedMediaType(mediaType)) throw invalid(`${where}: invalid mediaType`);
  if (typeof digest !== 'string' || !isDigest(digest)) throw invalid(`${where}: invalid digest`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}: invalid size`);
  checkAnnotations(v.annotations, where);
  if (v.artifactType !== undefined && (typeof v.artifactType !== 'string' || !isWellFormedMediaType(v.artifactType))) {
    throw invalid(`${where}: invalid artifactType`);
  }
  if (v.platform !== undefined) {
    const p = v.platform;
    if (!isObject(p) || typeof p.architecture !== 'string' || typeof p.os !== 'string') {
      throw invalid(`${where}: platform needs architecture and os`);
    }
  }
  if (v.urls !== undefined && (!Array.isArray(v.urls) || v.urls.some((u) => typeof u !== 'string'))) {
    throw invalid(`${where}: urls must be strings`);
  }
  return v as unknown as Descriptor;
}

/**
 * Parse and validate manifest bytes. `contentType` is the request's Content-Type (when pushing) and
 * must agree with the manifest's own `mediaType` field when that is present (CVE-2021-41190).
 */
export function parseManifest(raw: Buffer, contentType?: string): ParsedManifest {
  if (raw.length > maxManifestBytes) {
    throw new TsdError('MANIFEST_TOO_LARGE', `manifest is ${raw.length} bytes, over the ${maxManifestBytes} byte limit`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw invalid(`manifest is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(doc)) throw invalid('manifest must be a JSON object');
  if (doc.schemaVersion !== 2) {
    if (doc.schemaVersion === 1) throw invalid('Docker schema 1 manifests are not supported');
    throw invalid('schemaVersion must be 2');
  }
  const declared = doc.mediaType;
  if (declared !== undefined && typeof declared !== 'string') throw invalid('mediaType must be a string');
  const header = baseMediaType(contentType);
  if (declared !== undefined && header !== undefined && declared !== header) {
    throw invalid(`manifest mediaType ${declared} does not match Content-Type ${header}`);
  }
  let mediaType = declared;
  if (mediaType === undefined) {
    // Only OCI allows the field to be absent (Docker schema 2 requires it), so the type is one of
    // OCI's, and the same whether it comes from the header now or from the bytes after a restart.
    if (header === MediaTypes.dockerManifest || header === MediaTypes.dockerManifestList) {
      throw invalid(`a ${header} manifest must carry its mediaType field`);
    }
    if (header !== undefined && !genericContentTypes.has(header) && !manifestMediaTypes.has(header)) {
      throw invalid(`unsupported manifest media type ${header}`);
    }
    mediaType = header !== undefined && manifestMediaTypes.has(header) ? header : Array.isArray(doc.manifests) ? MediaTypes.ociIndex : MediaTypes.ociManifest;
  }
  const kind = manifestMediaTypes.get(mediaType);
  if (kind === undefined) throw invalid(`unsupported manifest media type ${mediaType}`);
  checkAnnotations(doc.annotations, 'manifest');
  if (doc.artifactType !== undefined && (typeof doc.artifactType !== 'string' || !isWellFormedMediaType(doc.artifactType))) {
    throw invalid('invalid artifactType');
  }
  const subject = doc.subject === undefined ? undefined : parseDescriptor(doc.subject, 'subject');

  const parsed: ParsedManifest = {
    raw,
    digest: digestOf(raw),
    mediaType,
    kind,
    value: doc as unknown as ImageManifest | ImageIndex,
    blobs: [],
    manifests: [],
  };
  if (kind === 'manifest') {
    if (doc.manifests !== undefined) throw invalid('an image manifest must not have manifests');
    const config = parseDescriptor(doc.config, 'config');
    if (!Array.isArray(doc.layers)) throw invalid('layers must be an array');
    const layers = doc.layers.map((l, i) => parseDescriptor(l, `layers[${i}]`));
    if (mediaType === MediaTypes.dockerManifest && layers.length === 0) throw invalid('layers must not be empty');
    parsed.blobs = [config, ...layers];
    const artifactType = typeof doc.artifactType === 'string' ? doc.artifactType : config.mediaType;
    parsed.artifactType = artifactType;
  } else {
    if (!Array.isArray(doc.manifests)) throw invalid('manifests must be an array');
    if (doc.config !== undefined || doc.layers !== undefined) throw invalid('an index must not have config or layers');
    parsed.manifests = doc.manifests.map((m, i) => parseDescriptor(m, `manifests[${i}]`));
    if (typeof doc.artifactType === 'string') parsed.artifactType = doc.artifactType;
  }
  if (subject) parsed.subject = subject;
  if (isObject(doc.annotations)) parsed.annotations = doc.annotations as Record<string, string>;
  return parsed;
}

/** Guess a stored manifest's media type from its bytes (used when serving, where no header is known). */
export function detectManifestMediaType(raw: Buffer): string | undefined {
  try {
    return parseManifest(raw).mediaType;
  } catch {
    return undefined;
  }
}
