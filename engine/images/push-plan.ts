/**
 * What one push sends for an image record, read from the content store: the layer blobs (each
 * with the short DiffID dockerd names its progress row by), the config blobs, the manifests pushed
 * by digest first (an index's children), and the manifest pushed under the tag. Manifest bytes are
 * the stored ones, so the registry serves the very digests we hold.
 *
 * An index is pushed whole only when every child (manifest, config, layers) is in the content
 * store; otherwise (a pull or load kept one platform) the platform's manifest is pushed.
 */
import type { Digest } from '../../shared/digest.js';
import { TsdError } from '../../shared/errors.js';
import { parseManifest, type Descriptor, type ImageManifest, type ParsedManifest } from '../../shared/manifest.js';
import { parseImageReference } from '../../shared/reference.js';
import type { ContentStore } from './content-store.js';
import { shortId } from './json-message.js';
import { parseConfig, type ImageRecord } from './record.js';

export interface PushLayer {
  digest: Digest;
  size: number;
  /** The progress row: the layer's short DiffID, as dockerd shows it. */
  id: string;
}

export interface PushManifest {
  digest: Digest;
  mediaType: string;
  raw: Buffer;
}

export interface PushPlan {
  /** Unique by digest, top layer first (dockerd's order of rows). */
  layers: PushLayer[];
  configs: Descriptor[];
  /** Manifests an index lists, pushed by digest before it. */
  children: PushManifest[];
  /** Pushed under the tag; its digest is what the push reports and records. */
  top: PushManifest;
  /** Every blob the push reads (held against deletion while it runs). */
  blobs: Digest[];
}

async function readManifest(content: ContentStore, digest: Digest): Promise<ParsedManifest> {
  const parsed = parseManifest(await content.get(digest));
  if (parsed.digest !== digest) throw new TsdError('DIGEST_INVALID', `stored manifest ${digest} hashes to ${parsed.digest}`);
  return parsed;
}

function asPushManifest(m: ParsedManifest): PushManifest {
  return { digest: m.digest, mediaType: m.mediaType, raw: m.raw };
}

/** An image manifest's layers and config, with DiffIDs from its config; undefined when a blob is missing here. */
async function imageParts(content: ContentStore, manifest: ParsedManifest): Promise<{ layers: PushLayer[]; config: Descriptor } | undefined> {
  if (manifest.kind !== 'manifest') return undefined;
  const value = manifest.value as ImageManifest;
  for (const d of [value.config, ...value.layers]) if (!(await content.has(d.digest))) return undefined;
  const config = parseConfig(await content.get(value.config.digest), value.config.digest);
  const diffIds = config.rootfs!.diff_ids;
  if (diffIds.length !== value.layers.length) {
    throw new TsdError('MANIFEST_INVALID', `manifest ${manifest.digest} has ${value.layers.length} layers, its config lists ${diffIds.length} DiffIDs`);
  }
  return { layers: value.layers.map((l, i) => ({ digest: l.digest, size: l.size, id: shortId(diffIds[i]!) })), config: value.config };
}

/** The whole index when all its children are here, else undefined. */
async function planIndex(content: ContentStore, index: ParsedManifest): Promise<Omit<PushPlan, 'blobs'> | undefined> {
  const children: PushManifest[] = [];
  const layers: PushLayer[] = [];
  const configs: Descriptor[] = [];
  for (const d of index.manifests) {
    if (!(await content.has(d.digest))) return undefined;
    const child = await readManifest(content, d.digest);
    const parts = await imageParts(content, child);
    if (!parts) return undefined;
    children.push(asPushManifest(child));
    layers.push(...parts.layers);
    configs.push(parts.config);
  }
  return { layers, configs, children, top: asPushManifest(index) };
}

export async function planPush(content: ContentStore, record: ImageRecord): Promise<PushPlan> {
  let plan: Omit<PushPlan, 'blobs'> | undefined;
  if (record.target.digest !== record.manifest.digest) {
    const target = await readManifest(content, record.target.digest);
    if (target.kind === 'index') plan = await planIndex(content, target);
  }
  if (!plan) {
    const manifest = await readManifest(content, record.manifest.digest);
    const parts = await imageParts(content, manifest);
    if (!parts) throw new TsdError('BLOB_UNKNOWN', `image ${record.id}: a blob of manifest ${manifest.digest} is missing from the content store`);
    plan = { layers: parts.layers, configs: [parts.config], children: [], top: asPushManifest(manifest) };
  }
  const unique = new Map<Digest, PushLayer>();
  for (const l of [...plan.layers].reverse()) if (!unique.has(l.digest)) unique.set(l.digest, l);
  const configs = [...new Map(plan.configs.map((c) => [c.digest, c])).values()];
  const blobs = [...new Set([plan.top.digest, ...plan.children.map((c) => c.digest), ...configs.map((c) => c.digest), ...unique.keys()])];
  return { ...plan, layers: [...unique.values()], configs, blobs };
}

/**
 * For each blob, a repository of the same registry that holds it, from the references the image
 * store keeps: repo digests first (the registry served or accepted those), then tags.
 */
export function mountSources(records: ImageRecord[], domain: string, repository: string): Map<Digest, string> {
  const sources = new Map<Digest, string>();
  for (const kind of ['repoDigests', 'repoTags'] as const) {
    for (const r of records) {
      for (const reference of r[kind]) {
        const ref = parseImageReference(reference);
        if (ref.domain !== domain || ref.repository === repository) continue;
        for (const d of [r.config.digest, ...r.layers.map((l) => l.digest)]) if (!sources.has(d)) sources.set(d, ref.repository);
      }
    }
  }
  return sources;
}
