/**
 * The bottom of the registry client: one HTTP exchange over node:http / node:https with keep-alive
 * agents, and the types every layer above speaks. Layers are undici-style interceptors
 * (`(next) => dispatch`) stacked with `compose`; see retry.ts, redirect.ts and auth.ts.
 *
 * Why node:http and not the global fetch: fetch decodes `Content-Encoding` on its own (a storage
 * server that labels a blob `gzip` would hand us other bytes than the digest covers), cannot take a
 * per-registry CA without the `undici` package (Node 20 does not export its bundled copy), and
 * makes Content-Length on a streamed upload awkward. node:http gives us the exact bytes, a `ca` per
 * agent, explicit headers, and streaming both ways without buffering.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { errorTable, TsdError, type ErrorCode } from '../../shared/errors.js';

/** A request body that can be sent again: `open` is called once per attempt. */
export interface BodySource {
  open(): Readable | Promise<Readable>;
  /** Sent as Content-Length; without it the body goes chunked. */
  length?: number;
}

export interface HttpRequest {
  method: string;
  url: URL;
  /** Header names in lower case. */
  headers: Record<string, string>;
  body?: Buffer | BodySource;
  /** May be sent again after a failure; default: GET, HEAD, PUT, DELETE, OPTIONS. */
  idempotent?: boolean;
  /** Token scopes the request needs (`repository:team/app:pull`), for the auth layer. */
  scopes?: string[];
  signal?: AbortSignal;
  /** Follow 3xx (default true). */
  followRedirects?: boolean;
}

export interface HttpResponse {
  status: number;
  /** Lower-case names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /** The URL that answered (after redirects). */
  url: URL;
  /** Must be consumed, or released with `discard`. */
  body: Readable;
}

export type Dispatch = (request: HttpRequest) => Promise<HttpResponse>;
export type Interceptor = (next: Dispatch) => Dispatch;

/** Stack interceptors around a dispatch; the first one listed is the outermost (sees a request first). */
export function compose(base: Dispatch, ...interceptors: Interceptor[]): Dispatch {
  return interceptors.reduceRight<Dispatch>((next, interceptor) => interceptor(next), base);
}

export function isIdempotent(request: HttpRequest): boolean {
  if (request.idempotent !== undefined) return request.idempotent;
  return ['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'].includes(request.method);
}

/** A request can be sent again when it has no body, a buffer, or a body it can reopen. */
export function isReplayable(request: HttpRequest): boolean {
  return request.body === undefined || Buffer.isBuffer(request.body) || typeof request.body.open === 'function';
}

/** A connection-level failure (refused, reset, timed out): the request may be sent again. */
export function networkError(message: string, cause: unknown): TsdError {
  return new TsdError('UNAVAILABLE', message, { cause, detail: { network: true } });
}

export function isNetworkError(err: unknown): boolean {
  return err instanceof TsdError && err.code === 'UNAVAILABLE' && (err.detail as { network?: boolean } | undefined)?.network === true;
}

/** A URL fit for messages: no query (upload URLs carry state tokens) and no credentials. */
export function displayURL(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

export interface TransportOptions {
  /** PEM CA(s) to trust for https, in addition to nothing else (as node's `ca`). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Default true; false accepts any certificate (only for configured insecure registries). */
  rejectUnauthorized?: boolean;
  /** Time to wait for the response headers (default 30 s). */
  headersTimeoutMs?: number;
  /** A socket idle this long while a request or its body is in flight is an error (default 60 s). */
  idleTimeoutMs?: number;
  maxSockets?: number;
  userAgent?: string;
}

export interface Transport {
  dispatch: Dispatch;
  /** Close the keep-alive sockets. */
  close(): void;
}

function flattenHeaders(res: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headersDistinct)) {
    if (value !== undefined) out[name] = value.join(', ');
  }
  return out;
}

/** One exchange per call, over keep-alive agents owned by the transport. */
export function createTransport(options: TransportOptions = {}): Transport {
  const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 16, keepAliveMsecs: 1000 };
  const http = new HttpAgent(agentOptions);
  const https = new HttpsAgent({ ...agentOptions, ca: options.ca, rejectUnauthorized: options.rejectUnauthorized ?? true });
  const headersTimeoutMs = options.headersTimeoutMs ?? 30_000;
  const idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
  const userAgent = options.userAgent ?? 'tsdocker/0.1';

  const dispatch: Dispatch = (request) =>
    new Promise<HttpResponse>((resolve, reject) => {
      const { url, method } = request;
      const what = `${method} ${displayURL(url)}`;
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        reject(new TsdError('INVALID_ARGUMENT', `${what}: unsupported scheme`));
        return;
      }
      if (request.signal?.aborted) {
        reject(request.signal.reason);
        return;
      }
      const headers: Record<string, string> = { 'user-agent': userAgent, ...request.headers };
      const body = request.body;
      if (Buffer.isBuffer(body)) headers['content-length'] = String(body.length);
      else if (body?.length !== undefined) headers['content-length'] = String(body.length);
      else if (body === undefined && (method === 'PUT' || method === 'POST' || method === 'PATCH')) headers['content-length'] = '0';

      let settled = false;
      let sourceError: unknown;
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      let req: ClientRequest;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        cleanup();
        reject(err);
      };
      const onAbort = () => {
        req.destroy();
        fail(request.signal!.reason);
      };
      const headersTimer = setTimeout(() => req.destroy(networkError(`${what}: no response within ${headersTimeoutMs} ms`, undefined)), headersTimeoutMs);
      const cleanup = () => {
        clearTimeout(headersTimer);
      };
      req = send(url, { method, headers, agent: url.protocol === 'https:' ? https : http }, (res) => {
        clearTimeout(headersTimer);
        if (settled) {
          res.destroy();
          return;
        }
        settled = true;
        // The abort listener stays until the body is done, so an abort also stops a streaming body.
        res.once('close', () => request.signal?.removeEventListener('abort', onAbort));
        resolve({ status: res.statusCode ?? 0, headers: flattenHeaders(res), url, body: res });
      });
      req.setTimeout(idleTimeoutMs, () => req.destroy(networkError(`${what}: connection idle for ${idleTimeoutMs} ms`, undefined)));
      req.on('error', (err) => {
        if (sourceError !== undefined) fail(sourceError);
        else if (err instanceof TsdError) fail(err);
        else fail(networkError(`${what}: ${err.message}`, err));
      });
      request.signal?.addEventListener('abort', onAbort, { once: true });
      req.once('close', () => {
        if (!settled) request.signal?.removeEventListener('abort', onAbort);
      });

      if (body === undefined) req.end();
      else if (Buffer.isBuffer(body)) req.end(body);
      else {
        Promise.resolve()
          .then(() => body.open())
          .then(
            (source) => {
              source.on('error', (err) => {
                sourceError = err;
                req.destroy(err);
              });
              req.once('close', () => source.destroy());
              source.pipe(req);
            },
            (err) => {
              sourceError = err;
              req.destroy(err instanceof Error ? err : new Error(String(err)));
            },
          );
      }
    });

  return {
    dispatch,
    close() {
      http.destroy();
      https.destroy();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Response helpers

/** Release a response body: small ones are drained so the socket is reused, others destroyed. */
export function discard(res: HttpResponse): void {
  const length = Number(res.headers['content-length'] ?? 'NaN');
  if (Number.isFinite(length) && length <= 64 * 1024) res.body.resume();
  else res.body.destroy();
}

/** Read a whole body, failing (and closing the connection) past `limit` bytes. */
export async function readBody(res: HttpResponse, limit: number, tooLarge: () => TsdError = () => new TsdError('SIZE_INVALID', `response body larger than ${limit} bytes`)): Promise<Buffer> {
  const declared = Number(res.headers['content-length'] ?? 'NaN');
  if (Number.isFinite(declared) && declared > limit) {
    res.body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        res.body.destroy();
        throw tooLarge();
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof TsdError) throw err;
    throw networkError(`reading the response from ${displayURL(res.url)}: ${(err as Error).message}`, err);
  }
  return Buffer.concat(chunks);
}

export async function readJSON<T>(res: HttpResponse, limit = 4 * 1024 * 1024): Promise<T> {
  const body = await readBody(res, limit);
  try {
    return JSON.parse(body.toString('utf8')) as T;
  } catch {
    throw new TsdError('UNKNOWN', `${displayURL(res.url)} answered ${res.status} with a body that is not JSON`);
  }
}

function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 401:
      return 'UNAUTHORIZED';
    case 403:
      return 'DENIED';
    case 404:
      return 'NOT_FOUND';
    case 405:
      return 'UNSUPPORTED';
    case 416:
      return 'RANGE_INVALID';
    case 429:
      return 'TOOMANYREQUESTS';
    case 502:
    case 503:
    case 504:
      return 'UNAVAILABLE';
    default:
      return status >= 400 && status < 500 ? 'INVALID_ARGUMENT' : 'UNKNOWN';
  }
}

/**
 * The error a non-success response stands for: the OCI error body's first code when it is one we
 * know, else one derived from the status (`notFound` names what a bare 404 means here).
 */
export async function responseError(res: HttpResponse, what: string, notFound?: ErrorCode): Promise<TsdError> {
  let errors: Array<{ code?: unknown; message?: unknown; detail?: unknown }> = [];
  try {
    const body = await readBody(res, 64 * 1024);
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: unknown; details?: unknown };
    if (Array.isArray(parsed.errors)) errors = parsed.errors as typeof errors;
  } catch {
    /* no usable body */
  }
  const first = errors[0];
  const wire = typeof first?.code === 'string' ? first.code : undefined;
  let code: ErrorCode = wire !== undefined && wire in errorTable ? (wire as ErrorCode) : codeForStatus(res.status);
  if (res.status === 404 && notFound && (wire === undefined || code === 'NOT_FOUND')) code = notFound;
  const said = typeof first?.message === 'string' && first.message !== '' ? `: ${first.message}` : '';
  const message = `${what}: ${res.status}${wire ? ` ${wire}` : ''}${said}`;
  return new TsdError(code, message, { status: res.status, detail: { status: res.status, url: displayURL(res.url), errors } });
}

/** Resolve after `ms`, or reject with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Exponential backoff with jitter: attempt 0 waits about `min`, doubling up to `max`. */
export function backoff(attempt: number, minMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** attempt);
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
}
