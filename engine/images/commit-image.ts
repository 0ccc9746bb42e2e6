/**
 * The config and manifest of a committed image, as `docker commit` makes them: the parent's config
 * with the new DiffID appended to rootfs.diff_ids (unless the layer is empty), a history row,
 * `config` replaced by the container's when given, `container` / `container_config` of the
 * committing container, `author`, and `created` now; the manifest lists the parent's layer blobs
 * as they are plus the new one, in the parent's manifest family (Docker schema 2 stays Docker,
 * anything else becomes OCI).
 */
import type { Digest } from '../../shared/digest.js';
import type { Descriptor } from '../../shared/manifest.js';
import { MediaTypes } from '../../shared/media-types.js';

export interface ChildConfigOptions {
  created: string;
  /** The new layer's DiffID; undefined for an empty layer (docker records only a history row). */
  diffId?: Digest;
  author?: string;
  comment?: string;
  createdBy?: string;
  config?: Record<string, unknown>;
  container?: string;
  containerConfig?: Record<string, unknown>;
}

export interface MediaTypeSet {
  manifest: string;
  config: string;
  layer: string;
}

export function mediaTypesFor(parentManifestType: string): MediaTypeSet {
  return parentManifestType === MediaTypes.dockerManifest
    ? { manifest: MediaTypes.dockerManifest, config: MediaTypes.dockerConfig, layer: MediaTypes.dockerLayerGzip }
    : { manifest: MediaTypes.ociManifest, config: MediaTypes.ociConfig, layer: MediaTypes.ociLayerGzip };
}

/** The child's config document (the parent's is not modified). */
export function childConfig(parent: Record<string, unknown>, o: ChildConfigOptions): Record<string, unknown> {
  const out: Record<string, unknown> = structuredClone(parent);
  // Facts about the parent's own making, not the child's.
  for (const key of ['author', 'container', 'container_config', 'docker_version', 'id', 'parent']) delete out[key];
  if (o.author) out.author = o.author;
  if (o.container) out.container = o.container;
  if (o.containerConfig) out.container_config = o.containerConfig;
  if (o.config) out.config = o.config;
  out.created = o.created;
  const rootfs = (out.rootfs ?? { type: 'layers', diff_ids: [] }) as { type: string; diff_ids: string[] };
  out.rootfs = { ...rootfs, diff_ids: o.diffId ? [...rootfs.diff_ids, o.diffId] : [...rootfs.diff_ids] };
  const row: Record<string, unknown> = { created: o.created };
  if (o.author) row.author = o.author;
  if (o.createdBy) row.created_by = o.createdBy;
  if (o.comment) row.comment = o.comment;
  if (!o.diffId) row.empty_layer = true;
  out.history = [...(Array.isArray(out.history) ? out.history : []), row];
  return out;
}

const descriptorOf = (d: Descriptor): Descriptor => {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.urls) out.urls = d.urls;
  if (d.annotations) out.annotations = d.annotations;
  return out;
};

/** The manifest bytes referencing `config` and `layers` (stored once, digested as they are). */
export function childManifest(types: MediaTypeSet, config: { digest: Digest; size: number }, layers: Descriptor[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: types.manifest,
      config: { mediaType: types.config, digest: config.digest, size: config.size },
      layers: layers.map(descriptorOf),
    }),
  );
}
