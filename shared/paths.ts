import { algorithmOf, hexOf, type Digest } from './digest.js';
import { TsdError } from './errors.js';
import { isRepositoryName, isTag } from './reference.js';

/**
 * The storage layout, as pure functions. It is CNCF distribution's, so a data directory or bucket
 * written by one serves from the other. Every input is validated before a path is built from it.
 * Paths are relative keys with `/` separators; a backend maps them onto its medium.
 */
export const registryRoot = 'docker/registry/v2';
export const blobsRoot = `${registryRoot}/blobs`;
export const repositoriesRoot = `${registryRoot}/repositories`;

const uploadIdPattern = /^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$/;

function digestParts(d: Digest): string {
  const hex = hexOf(d);
  if (!/^[a-f0-9]{64,128}$/.test(hex)) throw new TsdError('DIGEST_INVALID', `invalid digest ${d}`);
  return `${algorithmOf(d)}/${hex}`;
}

function repository(name: string): string {
  if (!isRepositoryName(name)) throw new TsdError('NAME_INVALID', `invalid repository name "${name.slice(0, 80)}"`);
  return `${repositoriesRoot}/${name}`;
}

export function isUploadId(id: string): boolean {
  return uploadIdPattern.test(id);
}

export const paths = {
  blobDir(d: Digest): string {
    const hex = hexOf(d);
    return `${blobsRoot}/${algorithmOf(d)}/${hex.slice(0, 2)}/${digestParts(d).split('/')[1]}`;
  },
  blobData(d: Digest): string {
    return `${paths.blobDir(d)}/data`;
  },
  repository,
  layerLink(name: string, d: Digest): string {
    return `${repository(name)}/_layers/${digestParts(d)}/link`;
  },
  layersRoot(name: string): string {
    return `${repository(name)}/_layers`;
  },
  manifestRevisionLink(name: string, d: Digest): string {
    return `${repository(name)}/_manifests/revisions/${digestParts(d)}/link`;
  },
  manifestRevisionsRoot(name: string): string {
    return `${repository(name)}/_manifests/revisions`;
  },
  tagsRoot(name: string): string {
    return `${repository(name)}/_manifests/tags`;
  },
  tagDir(name: string, tag: string): string {
    if (!isTag(tag)) throw new TsdError('TAG_INVALID', `invalid tag "${tag.slice(0, 140)}"`);
    return `${repository(name)}/_manifests/tags/${tag}`;
  },
  tagCurrentLink(name: string, tag: string): string {
    return `${paths.tagDir(name, tag)}/current/link`;
  },
  tagIndexLink(name: string, tag: string, d: Digest): string {
    return `${paths.tagDir(name, tag)}/index/${digestParts(d)}/link`;
  },
  /** Our addition (distribution skips `_`-prefixed directories it does not know): subject -> referrers. */
  referrerLink(name: string, subject: Digest, referrer: Digest): string {
    return `${repository(name)}/_referrers/${digestParts(subject)}/${digestParts(referrer)}/link`;
  },
  referrersOf(name: string, subject: Digest): string {
    return `${repository(name)}/_referrers/${digestParts(subject)}`;
  },
  uploadsRoot(name: string): string {
    return `${repository(name)}/_uploads`;
  },
  uploadDir(name: string, id: string): string {
    if (!isUploadId(id)) throw new TsdError('BLOB_UPLOAD_UNKNOWN', 'invalid upload id');
    return `${repository(name)}/_uploads/${id}`;
  },
  uploadData(name: string, id: string): string {
    return `${paths.uploadDir(name, id)}/data`;
  },
  uploadStartedAt(name: string, id: string): string {
    return `${paths.uploadDir(name, id)}/startedat`;
  },
};
