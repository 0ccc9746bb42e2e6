/**
 * The registry client the engine's pull and push use: one registry host, a small interface, and
 * a transport stacked from layers: redirects -> auth -> retry -> (your interceptors) -> node:http.
 * Manifests come back as their exact bytes with a verified digest; blobs as verifying streams.
 */
import type { Readable } from 'node:stream';
import { algorithmOf, digestOf, isDigest, parseDigest, type Digest, type Digester } from '../../shared/digest.js';
import { TsdError } from '../../shared/errors.js';
import { maxManifestBytes } from '../../shared/manifest.js';
import { MediaTypes, baseMediaType, manifestMediaTypes } from '../../shared/media-types.js';
import { parseManifestReference, parseRepositoryName } from '../../shared/reference.js';
import { RegistryAuth, type CredentialSource, type Credentials } from './auth.js';
import { openBlobStream, type BlobReadOptions } from './blob-reader.js';
import { pushBlob, type BlobSource, type PushBlobOptions, type PushBlobResult } from './blob-upload.js';
import { registryBaseURL, type EndpointOptions } from './endpoint.js';
import { redirects } from './redirect.js';
import { retry, type RetryOptions } from './retry.js';
import { compose, createTransport, discard, readBody, readJSON, responseError, type Dispatch, type HttpResponse, type Interceptor, type TransportOptions } from './transport.js';

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
}

export interface FetchedManifest extends Descriptor {
  /** The exact bytes the registry sent; the digest is over these. */
  raw: Buffer;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

export interface ManifestOptions extends RequestOptions {
  /** Media types to accept (default: OCI and Docker manifests and indexes). */
  accept?: string[];
}

export interface FetchBlobOptions extends Omit<BlobReadOptions, 'signal'>, RequestOptions {}

export interface RegistryClient {
  /** The host as given (`127.0.0.1:5000`, `docker.io`). */
  readonly host: string;
  /** Where the API is reached (`http://127.0.0.1:5000/`, `https://registry-1.docker.io/`). */
  readonly baseURL: URL;
  /** GET /v2/ (authenticating if asked to); the API version header. */
  ping(options?: RequestOptions): Promise<{ apiVersion: string | undefined }>;
  /** HEAD the manifest (GET when HEAD says too little): its descriptor. */
  resolve(repo: string, reference: string, options?: ManifestOptions): Promise<Descriptor>;
  getManifest(repo: string, reference: string, options?: ManifestOptions): Promise<FetchedManifest>;
  putManifest(repo: string, reference: string, raw: Uint8Array, mediaType: string, options?: RequestOptions): Promise<Descriptor>;
  deleteManifest(repo: string, digest: string, options?: RequestOptions): Promise<void>;
  /** HEAD a blob: its size, or undefined when the registry does not have it. */
  statBlob(repo: string, digest: string, options?: RequestOptions & { push?: boolean }): Promise<{ digest: Digest; size: number } | undefined>;
  blobExists(repo: string, digest: string, options?: RequestOptions): Promise<boolean>;
  /** A stream of the blob that verifies size and digest before it ends and resumes dropped connections. */
  fetchBlob(repo: string, digest: string, options?: FetchBlobOptions): Promise<Readable>;
  pushBlob(repo: string, digest: string, size: number, open: BlobSource, options?: PushBlobOptions): Promise<PushBlobResult>;
  /** Every tag, following `Link` pages. */
  listTags(repo: string, options?: RequestOptions & { pageSize?: number; maxPages?: number }): Promise<string[]>;
  /** Close keep-alive connections. */
  close(): void;
}

export interface RegistryClientOptions extends EndpointOptions {
  /** Credentials: a source (e.g. `dockerConfigCredentials()`), fixed values, or none (anonymous). */
  credentials?: CredentialSource | Credentials;
  /** TLS trust and timeouts for the node:http(s) transport. */
  transport?: TransportOptions;
  retry?: RetryOptions;
  maxRedirects?: number;
  /** OAuth2 password grant for tokens (docker uses GET with Basic; containerd the POST). */
  oauth2?: boolean;
  clientId?: string;
  /** Extra layers between retry and the transport (logging, metrics, fault injection). */
  interceptors?: Interceptor[];
  /** Defaults for blob resumes. */
  resume?: Pick<BlobReadOptions, 'resumeRetries' | 'maxResumes' | 'minDelayMs' | 'maxDelayMs'>;
}

export const defaultManifestAccept = [MediaTypes.ociIndex, MediaTypes.ociManifest, MediaTypes.dockerManifestList, MediaTypes.dockerManifest];

const pull = (repo: string) => [`repository:${repo}:pull`];
const pullPush = (repo: string) => [`repository:${repo}:pull,push`];

/** Content types that do not name a manifest kind: look inside. */
const vagueTypes = new Set(['application/json', 'application/octet-stream', 'text/plain']);

function manifestMediaType(raw: Buffer, contentType: string | undefined, what: string): string {
  const declared = baseMediaType(contentType);
  let field: string | undefined;
  let parsed: Record<string, unknown> | undefined;
  try {
    const value = JSON.parse(raw.toString('utf8')) as unknown;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) parsed = value as Record<string, unknown>;
  } catch {
    /* not JSON: only the header can tell */
  }
  if (typeof parsed?.mediaType === 'string') field = parsed.mediaType;
  // CVE-2021-41190: a body that says one kind and a header that says another is refused.
  if (field !== undefined && declared !== undefined && manifestMediaTypes.has(declared) && manifestMediaTypes.has(field) && field !== declared) {
    throw new TsdError('MANIFEST_INVALID', `${what}: Content-Type ${declared} but the manifest says ${field}`);
  }
  if (declared !== undefined && !vagueTypes.has(declared)) return declared;
  if (field !== undefined) return field;
  if (Array.isArray(parsed?.manifests)) return MediaTypes.ociIndex;
  if (parsed?.config !== undefined) return MediaTypes.ociManifest;
  return declared ?? 'application/octet-stream';
}

class Client implements RegistryClient {
  readonly baseURL: URL;
  private readonly dispatch: Dispatch;
  private readonly closeTransport: () => void;
  readonly auth: RegistryAuth;

  constructor(
    readonly host: string,
    private readonly options: RegistryClientOptions,
  ) {
    this.baseURL = registryBaseURL(host, options);
    const credentials = options.credentials;
    const source: CredentialSource | undefined =
      credentials === undefined ? undefined : typeof credentials === 'function' ? credentials : async () => credentials;
    this.auth = new RegistryAuth({ origin: this.baseURL.origin, host, credentials: source, oauth2: options.oauth2, clientId: options.clientId });
    const transport = createTransport(options.transport);
    this.closeTransport = transport.close;
    this.dispatch = compose(transport.dispatch, redirects({ maxRedirects: options.maxRedirects }), this.auth.interceptor, retry(options.retry), ...(options.interceptors ?? []));
  }

  private url(path: string): URL {
    return new URL(path, this.baseURL);
  }

  close(): void {
    this.closeTransport();
  }

  async ping(options: RequestOptions = {}): Promise<{ apiVersion: string | undefined }> {
    const res = await this.dispatch({ method: 'GET', url: this.url('/v2/'), headers: { accept: 'application/json' }, signal: options.signal });
    if (res.status !== 200) throw await responseError(res, `GET ${this.host}/v2/`);
    discard(res);
    return { apiVersion: res.headers['docker-distribution-api-version'] };
  }

  private manifestURL(repo: string, reference: string): { url: URL; digest: Digest | undefined } {
    parseRepositoryName(repo);
    const ref = parseManifestReference(reference);
    return { url: this.url(`/v2/${repo}/manifests/${reference}`), digest: ref.kind === 'digest' ? ref.digest : undefined };
  }

  async resolve(repo: string, reference: string, options: ManifestOptions = {}): Promise<Descriptor> {
    const { url, digest } = this.manifestURL(repo, reference);
    const what = `HEAD ${this.host}/${repo}:${reference}`;
    const res = await this.dispatch({ method: 'HEAD', url, headers: { accept: (options.accept ?? defaultManifestAccept).join(', ') }, scopes: pull(repo), signal: options.signal });
    discard(res);
    if (res.status === 404) throw new TsdError('MANIFEST_UNKNOWN', `${what}: manifest unknown`, { status: 404 });
    if (res.status === 401 || res.status === 403 || res.status === 429) throw await responseError(res, what);
    if (res.status === 200) {
      const said = res.headers['docker-content-digest'];
      const size = Number(res.headers['content-length'] ?? 'NaN');
      const type = baseMediaType(res.headers['content-type']);
      const headerDigest = said !== undefined && isDigest(said) ? said : undefined;
      if (digest !== undefined && headerDigest !== undefined && headerDigest !== digest) {
        throw new TsdError('DIGEST_INVALID', `${what}: the registry answered for ${headerDigest}`);
      }
      const found = headerDigest ?? digest;
      if (found !== undefined && Number.isSafeInteger(size) && type !== undefined && !vagueTypes.has(type)) {
        return { mediaType: type, digest: found, size };
      }
    }
    // HEAD said too little (or is not supported): fetch the manifest itself.
    const m = await this.getManifest(repo, reference, options);
    return { mediaType: m.mediaType, digest: m.digest, size: m.size };
  }

  async getManifest(repo: string, reference: string, options: ManifestOptions = {}): Promise<FetchedManifest> {
    const { url, digest } = this.manifestURL(repo, reference);
    const what = `GET ${this.host}/${repo}:${reference}`;
    const res = await this.dispatch({ method: 'GET', url, headers: { accept: (options.accept ?? defaultManifestAccept).join(', ') }, scopes: pull(repo), signal: options.signal });
    if (res.status !== 200) throw await responseError(res, what, 'MANIFEST_UNKNOWN');
    const raw = await readBody(res, maxManifestBytes, () => new TsdError('MANIFEST_TOO_LARGE', `${what}: manifest larger than ${maxManifestBytes} bytes`));
    const said = res.headers['docker-content-digest'];
    let verified: Digest;
    if (digest !== undefined) {
      const actual = digestOf(raw, algorithmOf(digest));
      if (actual !== digest) throw new TsdError('DIGEST_INVALID', `${what}: the manifest's digest is ${actual}`, { detail: { expected: digest, actual } });
      verified = digest;
    } else if (said !== undefined && isDigest(said)) {
      const actual = digestOf(raw, algorithmOf(said));
      if (actual !== said) throw new TsdError('DIGEST_INVALID', `${what}: Docker-Content-Digest ${said} but the bytes hash to ${actual}`, { detail: { expected: said, actual } });
      verified = said;
    } else {
      verified = digestOf(raw);
    }
    return { raw, digest: verified, size: raw.length, mediaType: manifestMediaType(raw, res.headers['content-type'], what) };
  }

  async putManifest(repo: string, reference: string, raw: Uint8Array, mediaType: string, options: RequestOptions = {}): Promise<Descriptor> {
    const { url, digest } = this.manifestURL(repo, reference);
    const body = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    const actual = digestOf(body, digest ? algorithmOf(digest) : 'sha256');
    if (digest !== undefined && actual !== digest) throw new TsdError('DIGEST_INVALID', `the manifest's digest is ${actual}, not ${digest}`);
    const what = `PUT ${this.host}/${repo}:${reference}`;
    const res = await this.dispatch({ method: 'PUT', url, headers: { 'content-type': mediaType }, body, scopes: pullPush(repo), signal: options.signal });
    if (res.status !== 201 && res.status !== 200) throw await responseError(res, what, 'NAME_UNKNOWN');
    discard(res);
    const said = res.headers['docker-content-digest'];
    if (said !== undefined && said !== '' && said !== actual && said !== digestOf(body, isDigest(said) ? algorithmOf(said) : 'sha256')) {
      throw new TsdError('DIGEST_INVALID', `${what}: the registry stored ${said}, the bytes hash to ${actual}`);
    }
    return { mediaType, digest: actual, size: body.length };
  }

  async deleteManifest(repo: string, digest: string, options: RequestOptions = {}): Promise<void> {
    parseRepositoryName(repo);
    const d = parseDigest(digest);
    const res = await this.dispatch({ method: 'DELETE', url: this.url(`/v2/${repo}/manifests/${d}`), headers: {}, scopes: [`repository:${repo}:delete`], signal: options.signal });
    if (res.status !== 202 && res.status !== 200 && res.status !== 204) throw await responseError(res, `DELETE ${this.host}/${repo}@${d}`, 'MANIFEST_UNKNOWN');
    discard(res);
  }

  async statBlob(repo: string, digest: string, options: RequestOptions & { push?: boolean } = {}): Promise<{ digest: Digest; size: number } | undefined> {
    parseRepositoryName(repo);
    return this.headBlob(repo, parseDigest(digest), options.push ? pullPush(repo) : pull(repo), options.signal);
  }

  private async headBlob(repo: string, d: Digest, scopes: string[], signal: AbortSignal | undefined): Promise<{ digest: Digest; size: number } | undefined> {
    const res = await this.dispatch({ method: 'HEAD', url: this.url(`/v2/${repo}/blobs/${d}`), headers: {}, scopes, signal });
    discard(res);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await responseError(res, `HEAD ${this.host}/${repo}@${d}`);
    const size = Number(res.headers['content-length'] ?? 'NaN');
    return { digest: d, size: Number.isSafeInteger(size) ? size : -1 };
  }

  async blobExists(repo: string, digest: string, options: RequestOptions = {}): Promise<boolean> {
    return (await this.statBlob(repo, digest, options)) !== undefined;
  }

  async fetchBlob(repo: string, digest: string, options: FetchBlobOptions = {}): Promise<Readable> {
    parseRepositoryName(repo);
    const d = parseDigest(digest);
    return openBlobStream(this.dispatch, { url: this.url(`/v2/${repo}/blobs/${d}`), scopes: pull(repo) }, d, { ...this.options.resume, ...options });
  }

  async pushBlob(repo: string, digest: string, size: number, open: BlobSource, options: PushBlobOptions = {}): Promise<PushBlobResult> {
    parseRepositoryName(repo);
    const d = parseDigest(digest);
    if (options.mountFrom !== undefined) parseRepositoryName(options.mountFrom);
    const scopes = [...pullPush(repo), ...(options.mountFrom !== undefined && options.mountFrom !== repo ? pull(options.mountFrom) : [])];
    return pushBlob(
      {
        dispatch: (request) => this.dispatch({ ...request, scopes }),
        base: this.baseURL,
        repo,
        scopes,
        exists: async () => (await this.headBlob(repo, d, scopes, options.signal)) !== undefined,
      },
      d,
      size,
      open,
      options,
    );
  }

  async listTags(repo: string, options: RequestOptions & { pageSize?: number; maxPages?: number } = {}): Promise<string[]> {
    parseRepositoryName(repo);
    let url: URL | undefined = this.url(`/v2/${repo}/tags/list`);
    if (options.pageSize !== undefined) url.searchParams.set('n', String(options.pageSize));
    const maxPages = options.maxPages ?? 10_000;
    const seen = new Set<string>();
    const tags: string[] = [];
    for (let page = 0; url !== undefined; page++) {
      if (page >= maxPages || seen.has(url.href)) throw new TsdError('UNKNOWN', `tags of ${this.host}/${repo}: more than ${maxPages} pages or a loop`);
      seen.add(url.href);
      const res: HttpResponse = await this.dispatch({ method: 'GET', url, headers: { accept: 'application/json' }, scopes: pull(repo), signal: options.signal });
      if (res.status !== 200) throw await responseError(res, `GET ${this.host}/${repo} tags`, 'NAME_UNKNOWN');
      const body = await readJSON<{ tags?: unknown }>(res);
      if (Array.isArray(body.tags)) for (const t of body.tags) if (typeof t === 'string') tags.push(t);
      url = nextLink(res);
    }
    return tags;
  }
}

/** The `rel="next"` target of a Link header, resolved against the response URL. */
export function nextLink(res: HttpResponse): URL | undefined {
  const link = res.headers.link;
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*(.*)$/.exec(part);
    if (m && /(?:^|;)\s*rel="?next"?\s*(?:;|$)/i.test(m[2]!)) {
      try {
        const next = new URL(m[1]!, res.url);
        // Pages stay on the registry: a Link elsewhere is not followed.
        return next.origin === res.url.origin ? next : undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

export function createRegistryClient(host: string, options: RegistryClientOptions = {}): RegistryClient & { readonly auth: RegistryAuth } {
  return new Client(host, options);
}

export type { BlobSource, PushBlobOptions, PushBlobResult, Digester };
