import type { IncomingMessage, ServerResponse } from 'node:http';
import { TsdError } from '../shared/errors.js';
import { parseDigest, type Digest } from '../shared/digest.js';

/** Small helpers shared by the handlers: query parsing, headers, and reading bounded bodies. */

export function query(req: IncomingMessage): URLSearchParams {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
}

export function digestParam(value: string | null | undefined, what = 'digest'): Digest {
  if (value === null || value === undefined || value === '') throw new TsdError('DIGEST_INVALID', `${what} parameter is required`);
  return parseDigest(value);
}

/** Content-Length as a number, undefined when absent; a malformed value is a client error. */
export function contentLength(req: IncomingMessage): number | undefined {
  const raw = req.headers['content-length'];
  if (raw === undefined) return undefined;
  if (!/^\d{1,16}$/.test(raw)) throw new TsdError('SIZE_INVALID', 'invalid Content-Length');
  return Number(raw);
}

/** Does the request carry a body at all (a length above zero, or chunked encoding)? */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** Read a whole body up to `limit` bytes; larger bodies fail with `tooLarge` without reading on. */
export async function readBody(req: IncomingMessage, limit: number, tooLarge: () => TsdError): Promise<Buffer> {
  const declared = contentLength(req);
  if (declared !== undefined && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  // By hand, not for-await: an early exit must not destroy the request (see BlobWriter.writeAll).
  const body = req[Symbol.asyncIterator]();
  for (let next = await body.next(); !next.done; next = await body.next()) {
    size += (next.value as Buffer).length;
    if (size > limit) throw tooLarge();
    chunks.push(next.value as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/** Send a JSON body with an exact Content-Length. */
export function sendJSON(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const data = Buffer.from(JSON.stringify(body));
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Content-Length', data.length);
  res.end(data);
}

/** An empty response with a status and headers. */
export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | number> = {}): void {
  res.statusCode = status;
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.setHeader('Content-Length', 0);
  res.end();
}

export function sendError(res: ServerResponse, err: TsdError): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  for (const [k, v] of Object.entries(err.headers ?? {})) res.setHeader(k, v);
  sendJSON(res, err.status, err.toJSON());
}

/** A `Range: bytes=...` request header against a blob of `size` bytes. */
export function parseRangeHeader(header: string | undefined, size: number): { offset: number; length: number } | undefined | 'unsatisfiable' {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return header.includes(',') ? undefined : 'unsatisfiable';
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    const length = Math.min(suffix, size);
    return { offset: size - length, length };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { offset: start, length: end - start + 1 };
}

/** Content-Range on an upload chunk: `start-end` (the spec) or `bytes start-end/total`. */
export function parseChunkRange(header: string | undefined): { start: number; end: number } | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:bytes[ =])?(\d{1,16})-(\d{1,16})(?:\/(?:\*|\d{1,16}))?$/.exec(header.trim());
  if (!m) throw new TsdError('RANGE_INVALID', `invalid Content-Range "${header.slice(0, 100)}"`);
  return { start: Number(m[1]), end: Number(m[2]) };
}
