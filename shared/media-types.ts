/** The media types of Docker image manifest v2 schema 2 and the OCI image spec. */
export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociLayerNondistributableGzip: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
} as const;

export type ManifestKind = 'manifest' | 'index';

/** Manifest media types the registry accepts, and whether each is an image manifest or an index. */
export const manifestMediaTypes: ReadonlyMap<string, ManifestKind> = new Map([
  [MediaTypes.ociManifest, 'manifest'],
  [MediaTypes.dockerManifest, 'manifest'],
  [MediaTypes.ociIndex, 'index'],
  [MediaTypes.dockerManifestList, 'index'],
]);

export function isManifestMediaType(mediaType: string): boolean {
  return manifestMediaTypes.has(mediaType);
}

export function isIndexMediaType(mediaType: string): boolean {
  return manifestMediaTypes.get(mediaType) === 'index';
}

/** A media type must look like `type/subtype` (RFC 6838), with optional parameters we ignore. */
const mediaTypePattern = /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
export function isWellFormedMediaType(mediaType: string): boolean {
  return mediaTypePattern.test(mediaType);
}

/** Strip parameters (`; charset=utf-8`) and whitespace from a Content-Type value. */
export function baseMediaType(contentType: string | undefined): string | undefined {
  if (contentType === undefined) return undefined;
  const base = contentType.split(';', 1)[0]!.trim();
  return base.length > 0 ? base : undefined;
}
