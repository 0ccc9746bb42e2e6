// Helpers for the image store tests: fixture images put into an engine content store.
import { Readable } from 'node:stream';
import type { Digest } from '../../../shared/digest.js';
import type { ImageStore } from '../../../engine/images/index.js';
import { buildImage, sha256, type Blob, type ImageOptions, type TestImage } from '../../helpers/images.js';

export async function putBlobs(store: ImageStore, blobs: Blob[]): Promise<void> {
  for (const b of blobs) await store.content.ingest({ digest: b.digest as Digest, size: b.size }, () => Readable.from([b.bytes]));
}

/** A fixture image whose blobs are in the content store (not yet recorded). */
export async function storedImage(store: ImageStore, options: ImageOptions = {}): Promise<TestImage> {
  const img = await buildImage({ layers: 2, filesPerLayer: 1, fileSize: 512, ...options });
  await putBlobs(store, [img.manifest, img.config, ...img.layers]);
  return img;
}

/** A second image sharing `base`'s layers, with its own config and manifest. */
export async function sharingImage(store: ImageStore, base: TestImage, label: string): Promise<TestImage> {
  const config = JSON.parse(base.config.bytes.toString('utf8'));
  config.config.Labels = { ...config.config.Labels, variant: label };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configBlob: Blob = { mediaType: base.config.mediaType, digest: sha256(configBytes), size: configBytes.length, bytes: configBytes };
  const manifest = JSON.parse(base.manifest.bytes.toString('utf8'));
  manifest.config = { mediaType: configBlob.mediaType, digest: configBlob.digest, size: configBlob.size };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const manifestBlob: Blob = { mediaType: base.manifest.mediaType, digest: sha256(manifestBytes), size: manifestBytes.length, bytes: manifestBytes };
  await putBlobs(store, [manifestBlob, configBlob]);
  return { ...base, config: configBlob, manifest: manifestBlob };
}

export async function record(store: ImageStore, img: TestImage, tags: string[] = [], repoDigests: string[] = []) {
  return store.addFromContent({ digest: img.manifest.digest as Digest }, { tags, repoDigests });
}

export async function blobList(store: ImageStore): Promise<string[]> {
  const out: string[] = [];
  for await (const d of store.content.list()) out.push(d);
  return out.sort();
}
