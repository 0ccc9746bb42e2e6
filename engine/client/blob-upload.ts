/**
 * Blob upload: HEAD first (present -> nothing to send), cross-repository mount when asked, then a
 * monolithic PUT or PATCH chunks with Content-Range, following each Location. The source is given
 * as an opener, so a failed attempt starts over with a fresh session and a fresh stream; the bytes
 * are hashed on the way and a source that does not match the digest is an error, not an upload.
 */
import { pipeline, type Readable } from 'node:stream';
import { algorithmOf, Digester, VerifyingStream, type Digest } from '../../shared/digest.js';
import { TsdError, isTsdError } from '../../shared/errors.js';
import { backoff, discard, isNetworkError, responseError, sleep, type Dispatch, type HttpResponse } from './transport.js';

export type BlobSource = () => Readable | Promise<Readable>;

export interface PushBlobOptions {
  /** A repository on the same registry that may hold the blob: tried as `mount`/`from` first. */
  mountFrom?: string;
  /** Upload in PATCH chunks of this many bytes (raised to the registry's OCI-Chunk-Min-Length); else one PUT. */
  chunkSize?: number;
  signal?: AbortSignal;
  /** Whole-upload attempts after the first, each with a new session and a reopened source (default 2). */
  retries?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
}

export interface PushBlobResult {
  digest: Digest;
  size: number;
  /** `exists`: the registry had it (only a HEAD was sent); `mounted`: cross-repository mount. */
  outcome: 'exists' | 'mounted' | 'uploaded';
}

export interface UploadContext {
  dispatch: Dispatch;
  base: URL;
  repo: string;
  /** Scopes for the target (and the mount source). */
  scopes: string[];
  exists(): Promise<boolean>;
}

/** Read a stream in pieces of exactly `size` bytes (the last may be shorter); bounded memory. */
async function* chunksOf(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let length = 0;
  for await (const data of stream) {
    let chunk = data as Buffer;
    while (chunk.length > 0) {
      const take = Math.min(size - length, chunk.length);
      parts.push(chunk.subarray(0, take));
      length += take;
      chunk = chunk.subarray(take);
      if (length === size) {
        yield Buffer.concat(parts, length);
        parts = [];
        length = 0;
      }
    }
  }
  if (length > 0) yield Buffer.concat(parts, length);
}

function retryable(err: unknown): boolean {
  if (isNetworkError(err)) return true;
  if (!isTsdError(err)) return false;
  if (err.code === 'BLOB_UPLOAD_UNKNOWN' || err.code === 'BLOB_UPLOAD_INVALID' || err.code === 'UNAVAILABLE') return true;
  return err.status >= 500;
}

function locationOf(res: HttpResponse, what: string): URL {
  const location = res.headers.location;
  if (!location) throw new TsdError('BLOB_UPLOAD_INVALID', `${what}: the registry sent no Location`);
  try {
    return new URL(location, res.url);
  } catch {
    throw new TsdError('BLOB_UPLOAD_INVALID', `${what}: invalid Location`);
  }
}

function checkDigestHeader(res: HttpResponse, digest: Digest, what: string): void {
  const said = res.headers['docker-content-digest'];
  if (said !== undefined && said !== '' && said !== digest) {
    throw new TsdError('DIGEST_INVALID', `${what}: the registry stored ${said}, expected ${digest}`);
  }
}

export async function pushBlob(ctx: UploadContext, digest: Digest, size: number, open: BlobSource, options: PushBlobOptions = {}): Promise<PushBlobResult> {
  if (!Number.isSafeInteger(size) || size < 0) throw new TsdError('INVALID_ARGUMENT', `invalid size ${size}`);
  if (options.chunkSize !== undefined && (!Number.isSafeInteger(options.chunkSize) || options.chunkSize <= 0)) {
    throw new TsdError('INVALID_ARGUMENT', `invalid chunk size ${options.chunkSize}`);
  }
  if (await ctx.exists()) return { digest, size, outcome: 'exists' };
  const retries = options.retries ?? 2;
  for (let attempt = 0; ; attempt++) {
    try {
      return await uploadOnce(ctx, digest, size, open, options);
    } catch (err) {
      if (attempt >= retries || !retryable(err) || options.signal?.aborted) throw err;
      await sleep(backoff(attempt, options.minDelayMs ?? 200, options.maxDelayMs ?? 5000), options.signal);
    }
  }
}

async function uploadOnce(ctx: UploadContext, digest: Digest, size: number, open: BlobSource, options: PushBlobOptions): Promise<PushBlobResult> {
  const { dispatch, scopes, signal } = { ...ctx, signal: options.signal };
  const startURL = new URL(`/v2/${ctx.repo}/blobs/uploads/`, ctx.base);
  if (options.mountFrom !== undefined) {
    startURL.searchParams.set('mount', digest);
    startURL.searchParams.set('from', options.mountFrom);
  }
  const what = `upload of ${digest} to ${ctx.repo}`;
  // Starting a session twice only leaves an unused one behind, so the POST may be retried.
  const started = await dispatch({ method: 'POST', url: startURL, headers: {}, scopes, signal, idempotent: true });
  if (started.status === 201 && options.mountFrom !== undefined) {
    discard(started);
    checkDigestHeader(started, digest, what);
    return { digest, size, outcome: 'mounted' };
  }
  if (started.status !== 202) throw await responseError(started, `${what}: starting the session`, 'NAME_UNKNOWN');
  discard(started);
  let location = locationOf(started, what);
  const minChunk = Number(started.headers['oci-chunk-min-length'] ?? '0');
  let finished: HttpResponse;
  try {
    if (options.chunkSize === undefined || size <= options.chunkSize) {
      const url = new URL(location);
      url.searchParams.set('digest', digest);
      finished = await dispatch({
        method: 'PUT',
        url,
        headers: { 'content-type': 'application/octet-stream' },
        // pipeline, not pipe: a source that fails (an abort) must fail the body, not the process.
        body: { open: async () => pipeline(await open(), new VerifyingStream({ digest, size }), () => {}), length: size },
        idempotent: false,
        scopes,
        signal,
      });
    } else {
      const chunkSize = Math.max(options.chunkSize, Number.isSafeInteger(minChunk) ? minChunk : 0);
      const digester = new Digester(algorithmOf(digest));
      let offset = 0;
      const source = await open();
      try {
        for await (const chunk of chunksOf(source, chunkSize)) {
          if (offset + chunk.length > size) throw new TsdError('SIZE_INVALID', `${what}: the source has more than ${size} bytes`);
          digester.update(chunk);
          const res = await dispatch({
            method: 'PATCH',
            url: location,
            headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${offset + chunk.length - 1}` },
            body: chunk,
            idempotent: false,
            scopes,
            signal,
          });
          if (res.status !== 202) throw await responseError(res, `${what}: chunk at ${offset}`, 'BLOB_UPLOAD_UNKNOWN');
          discard(res);
          const range = res.headers.range;
          if (range !== undefined && range !== `0-${offset + chunk.length - 1}` && range !== `bytes=0-${offset + chunk.length - 1}`) {
            throw new TsdError('BLOB_UPLOAD_INVALID', `${what}: the registry holds "${range}" after the chunk at ${offset}`);
          }
          location = res.headers.location ? locationOf(res, what) : location;
          offset += chunk.length;
        }
      } finally {
        source.destroy();
      }
      if (offset !== size) throw new TsdError('SIZE_INVALID', `${what}: the source has ${offset} bytes, expected ${size}`);
      const actual = digester.digest();
      if (actual !== digest) throw new TsdError('DIGEST_INVALID', `${what}: the source's digest is ${actual}`);
      const url = new URL(location);
      url.searchParams.set('digest', digest);
      finished = await dispatch({ method: 'PUT', url, headers: {}, idempotent: false, scopes, signal });
    }
  } catch (err) {
    cancel(dispatch, location, scopes);
    throw err;
  }
  if (finished.status !== 201) {
    const err = await responseError(finished, `${what}: completing the upload`, 'BLOB_UPLOAD_UNKNOWN');
    cancel(dispatch, location, scopes);
    throw err;
  }
  discard(finished);
  checkDigestHeader(finished, digest, what);
  return { digest, size, outcome: 'uploaded' };
}

/** Best effort: drop a failed session so it does not linger until the registry's purge. */
function cancel(dispatch: Dispatch, location: URL, scopes: string[]): void {
  dispatch({ method: 'DELETE', url: location, headers: {}, scopes, idempotent: false, signal: AbortSignal.timeout(5000) }).then(
    (res) => discard(res),
    () => undefined,
  );
}

