import { TsdError } from './errors.js';
import { isDigest, type Digest } from './digest.js';

/**
 * The reference grammar of the distribution spec (distribution/reference), written out here:
 *   name      := [domain '/'] path-component ('/' path-component)*
 *   component := [a-z0-9]+ (separator [a-z0-9]+)*,  separator := [_.] | '__' | '-'+
 *   tag       := [\w][\w.-]{0,127}
 *   domain    := host [':' port], host := domain-component ('.' domain-component)* | '[' ipv6 ']'
 */
const componentSource = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const repositoryPattern = new RegExp(`^${componentSource}(?:/${componentSource})*$`);
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const domainComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const domainPattern = new RegExp(`^(?:${domainComponent}(?:\\.${domainComponent})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);

/** Distribution's limit on a repository name (path part), in characters. */
export const maxRepositoryLength = 255;

export const dockerHubDomain = 'docker.io';
const dockerHubAliases = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export function isRepositoryName(name: string): boolean {
  return name.length > 0 && name.length <= maxRepositoryLength && repositoryPattern.test(name);
}

/** Validate a repository path as it appears in `/v2/<name>/...`; anything else is NAME_INVALID. */
export function parseRepositoryName(name: string): string {
  if (!isRepositoryName(name)) {
    throw new TsdError('NAME_INVALID', `invalid repository name "${name.length > 80 ? `${name.slice(0, 80)}...` : name}"`, {
      detail: { name: name.slice(0, 300) },
    });
  }
  return name;
}

export function isTag(tag: string): boolean {
  return tagPattern.test(tag);
}

export function parseTag(tag: string): string {
  if (!isTag(tag)) throw new TsdError('TAG_INVALID', `invalid tag "${tag.slice(0, 140)}"`);
  return tag;
}

/** A manifest reference in a URL: a digest or a tag. */
export type ManifestReference = { kind: 'digest'; digest: Digest } | { kind: 'tag'; tag: string };

export function parseManifestReference(ref: string): ManifestReference {
  if (ref.includes(':')) {
    if (!isDigest(ref)) throw new TsdError('DIGEST_INVALID', `invalid digest "${ref.slice(0, 140)}"`);
    return { kind: 'digest', digest: ref as Digest };
  }
  if (!isTag(ref)) throw new TsdError('TAG_INVALID', `invalid tag "${ref.slice(0, 140)}"`);
  return { kind: 'tag', tag: ref };
}

/** A fully qualified image reference such as `docker.io/library/debian:12` or `127.0.0.1:5000/a/b@sha256:...`. */
export interface ImageReference {
  /** Registry host, with port if any; `docker.io` for Docker Hub. */
  domain: string;
  /** Repository path on that registry (`library/debian` for Hub official images). */
  repository: string;
  tag?: string;
  digest?: Digest;
}

/**
 * Parse what a user types (`debian`, `user/app:v1`, `localhost:5000/x@sha256:...`) into a normalised
 * reference, as docker does: no domain means Docker Hub, a single Hub component gets `library/`, and
 * neither tag nor digest means `latest`.
 */
export function parseImageReference(input: string, options: { defaultTag?: string } = {}): ImageReference {
  const bad = (why: string) => new TsdError('INVALID_ARGUMENT', `invalid reference format: ${why}`);
  if (input.length === 0 || input.length > 4096) throw bad('empty or too long');
  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw bad(`invalid digest "${d}"`);
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    if (!isTag(tag)) throw bad(`invalid tag "${tag}"`);
    rest = rest.slice(0, colon);
  }
  let domain = dockerHubDomain;
  let path = rest;
  const firstSlash = rest.indexOf('/');
  if (firstSlash >= 0) {
    const first = rest.slice(0, firstSlash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      if (!domainPattern.test(first)) throw bad(`invalid registry "${first}"`);
      domain = first;
      path = rest.slice(firstSlash + 1);
    }
  }
  if (dockerHubAliases.has(domain)) {
    domain = dockerHubDomain;
    if (!path.includes('/')) path = `library/${path}`;
  }
  if (path !== path.toLowerCase()) throw bad('repository name must be lowercase');
  if (!isRepositoryName(path)) throw bad(`invalid repository name "${path}"`);
  if (tag === undefined && digest === undefined) tag = options.defaultTag ?? 'latest';
  const ref: ImageReference = { domain, repository: path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** The canonical string: `domain/repository[:tag][@digest]`. */
export function formatImageReference(ref: ImageReference): string {
  return `${ref.domain}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The short form docker prints: Hub's `library/` and domain dropped. */
export function familiarName(ref: Pick<ImageReference, 'domain' | 'repository'>): string {
  if (ref.domain !== dockerHubDomain) return `${ref.domain}/${ref.repository}`;
  return ref.repository.startsWith('library/') ? ref.repository.slice('library/'.length) : ref.repository;
}
