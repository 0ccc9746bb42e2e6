/**
 * A small typed HTTP client for black-box registry tests. It speaks the OCI Distribution API with
 * `fetch` and returns every response whole (status, headers, body bytes) so tests can assert on
 * anything. It never follows redirects and never retries: what the registry said is what you get.
 *
 * `rawRequest` bypasses fetch (which normalises `/v2/../x` and `%2e%2e`) and writes the request
 * line byte for byte on a TCP socket.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect } from 'node:net';

export const MediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** The OCI empty descriptor's blob: the two bytes `{}`. */
export const emptyJson = Buffer.from('{}');
export const emptyJsonDigest = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a';

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export interface Blob {
  data: Buffer;
  digest: string;
  size: number;
}

export function makeBlob(data: Buffer | string): Blob {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  return { data: buf, digest: sha256(buf), size: buf.length };
}

export function randomBlob(size = 1024): Blob {
  return makeBlob(randomBytes(size));
}

/** A unique, valid repository name component (lower case, digits, `-`). */
export function uniqueName(prefix = 'repo'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
  data?: string;
}

export function descriptorOf(blob: Blob, mediaType: string, extra: Partial<Descriptor> = {}): Descriptor {
  return { mediaType, digest: blob.digest, size: blob.size, ...extra };
}

export interface Resp {
  status: number;
  headers: Headers;
  body: Buffer;
  /** The body as UTF-8. */
  text(): string;
  /** The body parsed as JSON (throws with the body shown when it is not JSON). */
  json<T = any>(): T;
  /** Method and URL of the request, for failure messages. */
  request: string;
}

function makeResp(request: string, status: number, headers: Headers, body: Buffer): Resp {
  return {
    status,
    headers,
    body,
    request,
    text: () => body.toString('utf8'),
    json: <T>() => {
      try {
        return JSON.parse(body.toString('utf8')) as T;
      } catch {
        throw new Error(`${request} -> ${status}: body is not JSON: ${body.toString('utf8').slice(0, 300)}`);
      }
    },
  };
}

/** One line describing a response, for assertion messages. */
export function show(r: Resp): string {
  const hdrs: string[] = [];
  r.headers.forEach((v, k) => hdrs.push(`${k}: ${v}`));
  return `${r.request} -> ${r.status} [${hdrs.join('; ')}] ${r.body.toString('utf8').slice(0, 400)}`;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  body?: Buffer | string | Uint8Array | ReadableStream<Uint8Array>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** A manifest ready to push: the exact bytes, their digest and the media type to send. */
export interface Manifest {
  mediaType: string;
  bytes: Buffer;
  digest: string;
  size: number;
  /** The parsed object (for building indexes/referrers); `bytes` is authoritative. */
  object: Record<string, unknown>;
}

export function manifestFrom(object: Record<string, unknown>, mediaType: string, bytes?: Buffer): Manifest {
  const b = bytes ?? Buffer.from(JSON.stringify(object));
  return { mediaType, bytes: b, digest: sha256(b), size: b.length, object };
}

export class OciClient {
  readonly base: string;
  constructor(base: string) {
    this.base = base.replace(/\/$/, '');
  }

  /** Absolute URL for a path or a (possibly absolute) Location header. */
  url(pathOrLocation: string): string {
    return new URL(pathOrLocation, `${this.base}/`).toString();
  }

  async request(method: string, pathOrUrl: string, options: RequestOptions = {}): Promise<Resp> {
    const url = this.url(pathOrUrl);
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 30000);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    const init: RequestInit & { duplex?: 'half' } = { method, headers: options.headers ?? {}, redirect: 'manual', signal };
    if (options.body !== undefined) {
      init.body = options.body as NonNullable<RequestInit['body']>;
      if (options.body instanceof ReadableStream) init.duplex = 'half';
    }
    const res = await fetch(url, init);
    const body = Buffer.from(await res.arrayBuffer());
    return makeResp(`${method} ${url.replace(this.base, '')}`, res.status, res.headers, body);
  }

  get(path: string, options?: RequestOptions): Promise<Resp> {
    return this.request('GET', path, options);
  }
  head(path: string, options?: RequestOptions): Promise<Resp> {
    return this.request('HEAD', path, options);
  }

  // ---- base ----
  ping(): Promise<Resp> {
    return this.get('/v2/');
  }

  // ---- blobs ----
  blobPath(name: string, digest: string): string {
    return `/v2/${name}/blobs/${digest}`;
  }
  getBlob(name: string, digest: string, headers?: Record<string, string>): Promise<Resp> {
    return this.get(this.blobPath(name, digest), { headers });
  }
  headBlob(name: string, digest: string): Promise<Resp> {
    return this.head(this.blobPath(name, digest));
  }
  deleteBlob(name: string, digest: string): Promise<Resp> {
    return this.request('DELETE', this.blobPath(name, digest));
  }

  // ---- uploads ----
  /** `POST /v2/<name>/blobs/uploads/` with optional query (`mount`, `from`, `digest`) and body. */
  startUpload(name: string, query: Record<string, string> = {}, body?: Buffer): Promise<Resp> {
    const qs = new URLSearchParams(query).toString();
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = 'application/octet-stream';
    return this.request('POST', `/v2/${name}/blobs/uploads/${qs ? `?${qs}` : ''}`, { headers, body });
  }

  /** Add query parameters to a Location that may already carry some. */
  withQuery(location: string, query: Record<string, string>): string {
    const u = new URL(location, `${this.base}/`);
    for (const [k, v] of Object.entries(query)) u.searchParams.set(k, v);
    return u.toString();
  }

  /** `PATCH <location>` with an explicit inclusive Content-Range (`null` for a streamed chunk). */
  patchChunk(location: string, data: Buffer, start: number | null, extraHeaders: Record<string, string> = {}): Promise<Resp> {
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (start !== null) headers['content-range'] = `${start}-${start + data.length - 1}`;
    Object.assign(headers, extraHeaders);
    return this.request('PATCH', location, { headers, body: data });
  }

  /** `PUT <location>?digest=D` with an optional final chunk. */
  finishUpload(location: string, digest: string | null, body?: Buffer, extraHeaders: Record<string, string> = {}): Promise<Resp> {
    const url = digest === null ? this.url(location) : this.withQuery(location, { digest });
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream', ...extraHeaders };
    return this.request('PUT', url, { headers, body: body ?? Buffer.alloc(0) });
  }

  uploadStatus(location: string): Promise<Resp> {
    return this.get(location);
  }
  cancelUpload(location: string): Promise<Resp> {
    return this.request('DELETE', location);
  }

  /** Single-request push: `POST ?digest=D` with the body. */
  pushBlobMonolithic(name: string, blob: Blob): Promise<Resp> {
    return this.startUpload(name, { digest: blob.digest }, blob.data);
  }

  /** Two-request push: `POST`, then `PUT <location>?digest=D` with the whole body. Returns the PUT. */
  async pushBlobPostPut(name: string, blob: Blob): Promise<Resp> {
    const start = await this.startUpload(name);
    assert.equal(start.status, 202, show(start));
    return this.finishUpload(requireLocation(start), blob.digest, blob.data);
  }

  /** Chunked push: `POST`, `PATCH` chunks with Content-Range, then `PUT ?digest=D` with no body. */
  async pushBlobChunked(name: string, blob: Blob, chunkSize = 64 * 1024, onChunk?: (i: number) => Promise<void>): Promise<Resp> {
    const start = await this.startUpload(name);
    assert.equal(start.status, 202, show(start));
    let location = requireLocation(start);
    let i = 0;
    for (let off = 0; off < blob.size; off += chunkSize) {
      const chunk = blob.data.subarray(off, Math.min(off + chunkSize, blob.size));
      const r = await this.patchChunk(location, chunk, off);
      assert.equal(r.status, 202, show(r));
      assert.equal(r.headers.get('range'), `0-${off + chunk.length - 1}`, show(r));
      location = requireLocation(r);
      if (onChunk) await onChunk(i++);
    }
    return this.finishUpload(location, blob.digest);
  }

  /** Push a blob (monolithic POST+PUT) and assert it worked; returns the digest. */
  async pushBlob(name: string, blob: Blob): Promise<string> {
    const r = await this.pushBlobPostPut(name, blob);
    assert.equal(r.status, 201, show(r));
    return blob.digest;
  }

  // ---- manifests ----
  manifestPath(name: string, ref: string): string {
    return `/v2/${name}/manifests/${ref}`;
  }
  putManifest(name: string, ref: string, manifest: Manifest | { bytes: Buffer | string; mediaType: string }, contentType?: string): Promise<Resp> {
    return this.request('PUT', this.manifestPath(name, ref), {
      headers: { 'content-type': contentType ?? manifest.mediaType },
      body: manifest.bytes,
    });
  }
  getManifest(name: string, ref: string, accept: string = allManifestTypes): Promise<Resp> {
    return this.get(this.manifestPath(name, ref), { headers: { accept } });
  }
  headManifest(name: string, ref: string, accept: string = allManifestTypes): Promise<Resp> {
    return this.head(this.manifestPath(name, ref), { headers: { accept } });
  }
  deleteManifest(name: string, ref: string): Promise<Resp> {
    return this.request('DELETE', this.manifestPath(name, ref));
  }

  // ---- listings ----
  listTags(name: string, query: Record<string, string> = {}): Promise<Resp> {
    const qs = new URLSearchParams(query).toString();
    return this.get(`/v2/${name}/tags/list${qs ? `?${qs}` : ''}`);
  }
  catalog(query: Record<string, string> = {}): Promise<Resp> {
    const qs = new URLSearchParams(query).toString();
    return this.get(`/v2/_catalog${qs ? `?${qs}` : ''}`);
  }
  referrers(name: string, digest: string, artifactType?: string): Promise<Resp> {
    const qs = artifactType === undefined ? '' : `?${new URLSearchParams({ artifactType })}`;
    return this.get(`/v2/${name}/referrers/${digest}${qs}`);
  }

  // ---- composite helpers ----
  /**
   * Make an image whose config and layers are random blobs pushed to `name`, and return its
   * manifest (not pushed). `format` picks OCI or Docker schema 2 media types.
   */
  async makeImage(name: string, options: ImageOptions = {}): Promise<Manifest & { blobs: Blob[] }> {
    const format = options.format ?? 'oci';
    const layers = Array.from({ length: options.layers ?? 2 }, () => randomBlob(options.layerSize ?? 512));
    const config = makeBlob(
      JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) }, nonce: randomBytes(8).toString('hex') }),
    );
    if (!options.skipPush) for (const b of [config, ...layers]) await this.pushBlob(name, b);
    const object = imageManifestObject(format, config, layers, options);
    const m = manifestFrom(object, format === 'oci' ? MediaTypes.ociManifest : MediaTypes.dockerManifest);
    return { ...m, blobs: [config, ...layers] };
  }

  /** An OCI artifact (image manifest with artifactType and the empty config), pushed blobs included. */
  async makeArtifact(name: string, options: { artifactType: string; subject?: Descriptor; annotations?: Record<string, string>; layerSize?: number }): Promise<Manifest & { blobs: Blob[] }> {
    const layer = randomBlob(options.layerSize ?? 64);
    await this.pushBlob(name, makeBlob(emptyJson));
    await this.pushBlob(name, layer);
    const object: Record<string, unknown> = {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      artifactType: options.artifactType,
      config: { mediaType: MediaTypes.ociEmpty, digest: emptyJsonDigest, size: 2, data: 'e30=' },
      layers: [{ mediaType: 'application/octet-stream', digest: layer.digest, size: layer.size }],
    };
    if (options.subject) object.subject = options.subject;
    if (options.annotations) object.annotations = options.annotations;
    return { ...manifestFrom(object, MediaTypes.ociManifest), blobs: [makeBlob(emptyJson), layer] };
  }

  /** Push a manifest and assert 201; returns the manifest. */
  async pushManifest<M extends Manifest>(name: string, ref: string, manifest: M): Promise<M> {
    const r = await this.putManifest(name, ref, manifest);
    assert.equal(r.status, 201, show(r));
    return manifest;
  }
}

export interface ImageOptions {
  format?: 'oci' | 'docker';
  layers?: number;
  layerSize?: number;
  subject?: Descriptor;
  artifactType?: string;
  annotations?: Record<string, string>;
  skipPush?: boolean;
}

function imageManifestObject(format: 'oci' | 'docker', config: Blob, layers: Blob[], options: ImageOptions): Record<string, unknown> {
  const oci = format === 'oci';
  const object: Record<string, unknown> = {
    schemaVersion: 2,
    mediaType: oci ? MediaTypes.ociManifest : MediaTypes.dockerManifest,
  };
  if (oci && options.artifactType) object.artifactType = options.artifactType;
  object.config = descriptorOf(config, oci ? MediaTypes.ociConfig : MediaTypes.dockerConfig);
  object.layers = layers.map((l) => descriptorOf(l, oci ? MediaTypes.ociLayer : MediaTypes.dockerLayer));
  if (oci && options.subject) object.subject = options.subject;
  if (options.annotations) object.annotations = options.annotations;
  return object;
}

/** An OCI index or Docker manifest list over the given (already pushed) manifests. */
export function makeIndex(children: Manifest[], format: 'oci' | 'docker' = 'oci', extra: Record<string, unknown> = {}): Manifest {
  const mediaType = format === 'oci' ? MediaTypes.ociIndex : MediaTypes.dockerManifestList;
  const archs = ['amd64', 'arm64', 'ppc64le', 's390x', '386', 'riscv64'];
  const object = {
    schemaVersion: 2,
    mediaType,
    manifests: children.map((c, i) => ({ mediaType: c.mediaType, digest: c.digest, size: c.size, platform: { architecture: archs[i % archs.length], os: 'linux' } })),
    ...extra,
  };
  return manifestFrom(object, mediaType);
}

export const allManifestTypes = [
  MediaTypes.ociManifest,
  MediaTypes.ociIndex,
  MediaTypes.dockerManifest,
  MediaTypes.dockerManifestList,
  MediaTypes.dockerSchema1Signed,
  MediaTypes.dockerSchema1,
].join(', ');

export function requireLocation(r: Resp): string {
  const loc = r.headers.get('location');
  assert.ok(loc, `no Location header: ${show(r)}`);
  return loc;
}

/** Assert an OCI error response: status, JSON content type, `errors[0].code` one of `codes`. */
export function assertError(r: Resp, status: number | number[], codes: string | string[], context?: string): void {
  const pre = context ? `${context}: ` : '';
  const statuses = Array.isArray(status) ? status : [status];
  const wanted = Array.isArray(codes) ? codes : [codes];
  assert.ok(statuses.includes(r.status), `${pre}expected status ${statuses.join('|')}: ${show(r)}`);
  if (r.request.startsWith('HEAD ')) return; // no body on HEAD
  assert.match(r.headers.get('content-type') ?? '', /^application\/json\b/, `${pre}error content-type: ${show(r)}`);
  let body: { errors?: Array<{ code?: unknown; message?: unknown }> };
  try {
    body = JSON.parse(r.body.toString('utf8'));
  } catch {
    assert.fail(`${pre}error body is not JSON: ${show(r)}`);
  }
  assert.ok(Array.isArray(body.errors) && body.errors.length > 0, `${pre}no errors array: ${show(r)}`);
  for (const e of body.errors) {
    assert.equal(typeof e.code, 'string', `${pre}error without code: ${show(r)}`);
    assert.equal(typeof e.message, 'string', `${pre}error without message: ${show(r)}`);
  }
  assert.ok(
    body.errors.some((e) => wanted.includes(e.code as string)),
    `${pre}expected error code ${wanted.join('|')}: ${show(r)}`,
  );
}

/** Assert a 2xx/expected status with the response shown on failure. */
export function assertStatus(r: Resp, status: number | number[]): void {
  const statuses = Array.isArray(status) ? status : [status];
  assert.ok(statuses.includes(r.status), `expected status ${statuses.join('|')}: ${show(r)}`);
}

export const apiVersionHeader = 'docker-distribution-api-version';

export function assertApiVersion(r: Resp): void {
  assert.equal(r.headers.get(apiVersionHeader), 'registry/2.0', `missing Docker-Distribution-API-Version: ${show(r)}`);
}

/** Parse an RFC 5988 `Link: <url>; rel="next"` header; returns the URL or null. */
export function nextLink(r: Resp): string | null {
  const link = r.headers.get('link');
  if (!link) return null;
  const m = /<([^>]*)>\s*;\s*rel="?next"?/.exec(link);
  assert.ok(m, `unparseable Link header "${link}": ${show(r)}`);
  return m[1]!;
}

// ---------------------------------------------------------------------------------------------
// Raw socket requests

export interface RawResponse {
  status: number;
  /** Lower-cased header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
  /** The request line, for messages. */
  request: string;
}

export interface RawRequestOptions {
  host?: string;
  port: number;
  method: string;
  /** Written verbatim into the request line. */
  target: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Set Content-Length from the body unless given in headers (default true). */
  autoLength?: boolean;
  timeoutMs?: number;
  /** Write raw bytes instead of building a request (method/target/headers/body ignored). */
  raw?: Buffer | string;
  /**
   * Send the headers first and wait up to this long for an early answer (as a client does with
   * `Expect: 100-continue`); the body is sent only if none came. Lets a test read a server's early
   * refusal (413) without racing it.
   */
  headersFirstMs?: number;
}

/**
 * Send one HTTP/1.1 request on a fresh TCP connection (`Connection: close`) and parse the reply.
 * Handles Content-Length, chunked and read-until-close bodies. Rejects on timeout.
 */
export function rawRequest(options: RawRequestOptions): Promise<RawResponse> {
  const host = options.host ?? '127.0.0.1';
  const body = options.body === undefined ? Buffer.alloc(0) : Buffer.from(options.body);
  const headers: Record<string, string> = { host: `${host}:${options.port}`, connection: 'close', ...(options.headers ?? {}) };
  const lower = Object.keys(headers).map((k) => k.toLowerCase());
  if (options.autoLength !== false && !lower.includes('content-length') && !lower.includes('transfer-encoding') && (body.length > 0 || ['PUT', 'POST', 'PATCH'].includes(options.method))) {
    headers['content-length'] = String(body.length);
  }
  const requestLine = `${options.method} ${options.target} HTTP/1.1`;
  const head = Buffer.from(`${requestLine}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`, 'latin1');
  const payload = options.raw !== undefined ? Buffer.from(options.raw) : Buffer.concat([head, body]);
  const timeoutMs = options.timeoutMs ?? 10000;
  return new Promise((resolve, reject) => {
    const sock = connect({ host, port: options.port });
    const chunks: Buffer[] = [];
    let settled = false;
    const done = (err: Error | null, value?: RawResponse) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const timer = setTimeout(() => done(new Error(`raw request ${requestLine} timed out after ${timeoutMs} ms`)), timeoutMs);
    const tryParse = (ended: boolean) => {
      const buf = Buffer.concat(chunks);
      const parsed = parseRawResponse(buf, ended, options.method === 'HEAD');
      if (parsed) done(null, { ...parsed, request: options.raw !== undefined ? String(options.raw).split('\r\n')[0]! : requestLine });
      else if (ended) done(new Error(`incomplete response to ${requestLine}: ${buf.toString('latin1').slice(0, 300)}`));
    };
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      tryParse(false);
    });
    sock.on('end', () => tryParse(true));
    sock.on('error', (err) => {
      if (chunks.length > 0) tryParse(true);
      else done(err);
    });
    if (options.headersFirstMs !== undefined && options.raw === undefined) {
      sock.write(head);
      setTimeout(() => {
        if (!settled && chunks.length === 0 && !sock.destroyed) sock.write(body);
      }, options.headersFirstMs);
    } else {
      sock.write(payload);
    }
  });
}

function parseRawResponse(buf: Buffer, ended: boolean, isHead: boolean): Omit<RawResponse, 'request'> | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]!);
  if (!m) throw new Error(`bad status line: ${head[0]}`);
  const status = Number(m[1]);
  const headers: Record<string, string> = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  const rest = buf.subarray(end + 4);
  if (status === 100) return parseRawResponse(rest, ended, isHead);
  if (isHead || status === 204 || status === 304) return { status, headers, body: Buffer.alloc(0) };
  if (headers['transfer-encoding']?.toLowerCase().includes('chunked')) {
    const out: Buffer[] = [];
    let pos = 0;
    for (;;) {
      const lineEnd = rest.indexOf('\r\n', pos);
      if (lineEnd < 0) return null;
      const size = parseInt(rest.subarray(pos, lineEnd).toString('latin1'), 16);
      if (Number.isNaN(size)) throw new Error('bad chunk size');
      if (size === 0) return { status, headers, body: Buffer.concat(out) };
      if (rest.length < lineEnd + 2 + size + 2) return null;
      out.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
      pos = lineEnd + 2 + size + 2;
    }
  }
  if (headers['content-length'] !== undefined) {
    const n = Number(headers['content-length']);
    if (rest.length < n) return null;
    return { status, headers, body: rest.subarray(0, n) };
  }
  return ended ? { status, headers, body: rest } : null;
}

/** A RawResponse viewed as a Resp, so the same assertion helpers work. */
export function rawAsResp(r: RawResponse): Resp {
  const h = new Headers();
  for (const [k, v] of Object.entries(r.headers)) h.set(k, v);
  return makeResp(`${r.request} (raw)`, r.status, h, r.body);
}

/** Hooks for `startRegistry` when one registry is shared by a whole file (`before`/`after`). */
export function sharedHooks(): { hooks: { after(fn: () => unknown): void }; cleanup: () => Promise<void> } {
  const fns: Array<() => unknown> = [];
  return {
    hooks: { after: (fn) => void fns.push(fn) },
    cleanup: async () => {
      for (const fn of fns.reverse()) {
        try {
          await fn();
        } catch {
          /* keep cleaning */
        }
      }
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Collects assertion failures across a table of cases so one run reports every failing case, then
 * fails once at the end (`done()`).
 */
export class Failures {
  private readonly list: string[] = [];
  async check(what: string, fn: () => unknown | Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.list.push(`- ${what}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
    }
  }
  done(): void {
    if (this.list.length > 0) assert.fail(`${this.list.length} case(s) failed:\n${this.list.join('\n')}`);
  }
}
