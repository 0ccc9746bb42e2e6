/**
 * A blob download as one Readable that hashes while it streams and fails (DIGEST_INVALID or
 * SIZE_INVALID) before it would end on content that does not match. When the connection drops
 * part way, it asks again with `Range: bytes=N-` from the last byte it passed on, with bounded
 * retries and backoff; a server that ignores the Range (200) has the first N bytes skipped.
 */
import { Readable } from 'node:stream';
import { algorithmOf, Digester, type Digest } from '../../shared/digest.js';
import { TsdError } from '../../shared/errors.js';
import { backoff, displayURL, isNetworkError, responseError, sleep, type Dispatch, type HttpRequest, type HttpResponse } from './transport.js';

export interface BlobReadOptions {
  /** Start at this byte (the caller holds the ones before). */
  offset?: number;
  /** The expected size (from the descriptor); else taken from the response. */
  size?: number;
  /**
   * A Digester that has already seen the first `offset` bytes; with it the digest is checked even
   * for a read that starts part way. Without it, a read from `offset > 0` checks only the size.
   */
  digester?: Digester;
  signal?: AbortSignal;
  /** Reconnections in a row without progress before giving up (default 5). */
  resumeRetries?: number;
  /** Reconnections in all (default 20). */
  maxResumes?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
}

const contentRangePattern = /^bytes (\d+)-(\d+)\/(\d+|\*)$/;

export async function openBlobStream(
  dispatch: Dispatch,
  base: Omit<HttpRequest, 'headers' | 'method'> & { headers?: Record<string, string> },
  digest: Digest,
  options: BlobReadOptions = {},
): Promise<Readable> {
  const start = options.offset ?? 0;
  if (!Number.isSafeInteger(start) || start < 0) throw new TsdError('INVALID_ARGUMENT', `invalid offset ${start}`);
  const what = `GET ${displayURL(base.url)}`;
  const resumeRetries = options.resumeRetries ?? 5;
  const maxResumes = options.maxResumes ?? 20;
  const minDelayMs = options.minDelayMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 5000;
  const digester = options.digester ?? (start === 0 ? new Digester(algorithmOf(digest)) : undefined);
  let expectedSize = options.size;
  let position = start;
  const signal = options.signal;
  /** Aborts the request in flight when the consumer goes away. */
  let controller = new AbortController();
  let current: HttpResponse | undefined;
  let finished = false;

  const request = async (): Promise<{ res: HttpResponse; skip: number }> => {
    controller = new AbortController();
    const signals = signal ? [signal, controller.signal] : [controller.signal];
    const headers: Record<string, string> = { ...(base.headers ?? {}) };
    if (position > 0) headers.range = `bytes=${position}-`;
    const res = await dispatch({ ...base, method: 'GET', headers, signal: AbortSignal.any(signals) });
    if (res.status === 200) {
      const length = Number(res.headers['content-length'] ?? 'NaN');
      if (expectedSize === undefined && Number.isSafeInteger(length)) expectedSize = length;
      return { res, skip: position };
    }
    if (res.status === 206 && position > 0) {
      const m = contentRangePattern.exec(res.headers['content-range'] ?? '');
      if (!m || Number(m[1]) !== position) {
        res.body.destroy();
        throw new TsdError('RANGE_INVALID', `${what}: asked for bytes from ${position}, got Content-Range "${res.headers['content-range'] ?? ''}"`);
      }
      if (expectedSize === undefined && m[3] !== '*') expectedSize = Number(m[3]);
      return { res, skip: 0 };
    }
    if (res.status === 416 && position > 0) {
      res.body.resume();
      // Nothing left to read: fine when that was all, else the blob is shorter than it should be.
      if (expectedSize !== undefined && position === expectedSize) return { res: { ...res, body: Readable.from([]) }, skip: 0 };
      throw new TsdError('SIZE_INVALID', `${what}: the registry has no bytes from ${position} on, expected ${expectedSize ?? 'more'}`);
    }
    throw await responseError(res, what, 'BLOB_UNKNOWN');
  };

  // The first response is awaited here, so a missing blob is a rejected promise, not a stream error.
  const first = await request();
  if (expectedSize !== undefined && position > expectedSize) {
    first.res.body.destroy();
    throw new TsdError('INVALID_ARGUMENT', `offset ${position} is past the blob's ${expectedSize} bytes`);
  }

  const out = new Readable({
    read() {
      current?.body.resume();
    },
    destroy(err, callback) {
      finished = true;
      controller.abort(err ?? new Error('blob stream closed'));
      current?.body.destroy();
      callback(err);
    },
  });

  let failuresInARow = 0;
  let resumes = 0;

  const finish = () => {
    if (finished) return;
    if (expectedSize !== undefined && position !== expectedSize) {
      out.destroy(new TsdError('SIZE_INVALID', `${what}: received ${position} bytes, expected ${expectedSize}`));
      return;
    }
    if (digester) {
      const got = digester.digest();
      if (got !== digest) {
        out.destroy(new TsdError('DIGEST_INVALID', `${what}: content digest ${got} does not match ${digest}`, { detail: { expected: digest, actual: got } }));
        return;
      }
    }
    finished = true;
    out.push(null);
  };

  const interrupted = async (cause: unknown) => {
    if (finished || out.destroyed) return;
    if (signal?.aborted) {
      out.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      return;
    }
    resumes++;
    failuresInARow++;
    if (failuresInARow > resumeRetries || resumes > maxResumes) {
      out.destroy(new TsdError('UNAVAILABLE', `${what}: connection lost at byte ${position} and ${resumeRetries} resumes failed`, { cause }));
      return;
    }
    try {
      await sleep(backoff(failuresInARow - 1, minDelayMs, maxDelayMs), signal);
      if (finished || out.destroyed) return;
      const next = await request();
      attach(next.res, next.skip);
    } catch (err) {
      if (isNetworkError(err) && !signal?.aborted) return interrupted(err);
      out.destroy(err as Error);
    }
  };

  const attach = (res: HttpResponse, skip: number) => {
    current = res;
    let toSkip = skip;
    const progressAt = position;
    let done = false;
    res.body.on('data', (chunk: Buffer) => {
      if (done) return;
      if (toSkip > 0) {
        if (chunk.length <= toSkip) {
          toSkip -= chunk.length;
          return;
        }
        chunk = chunk.subarray(toSkip);
        toSkip = 0;
      }
      if (expectedSize !== undefined && position + chunk.length > expectedSize) {
        done = true;
        res.body.destroy();
        out.destroy(new TsdError('SIZE_INVALID', `${what}: more than the expected ${expectedSize} bytes`));
        return;
      }
      digester?.update(chunk);
      position += chunk.length;
      if (position > progressAt) failuresInARow = 0;
      if (!out.push(chunk)) res.body.pause();
    });
    const lost = (err: unknown) => {
      if (done) return;
      done = true;
      res.body.destroy();
      void interrupted(err);
    };
    res.body.once('end', () => {
      if (done) return;
      if (expectedSize !== undefined && position < expectedSize) {
        // A whole response (its Content-Length honoured) that is short is the blob's size, not a cut.
        if ((res.body as { complete?: boolean }).complete === true && res.headers['content-length'] !== undefined) {
          done = true;
          out.destroy(new TsdError('SIZE_INVALID', `${what}: the blob has ${position} bytes, expected ${expectedSize}`));
          return;
        }
        lost(new Error('the response ended early'));
        return;
      }
      done = true;
      finish();
    });
    res.body.once('error', lost);
    res.body.once('close', () => {
      if (!done) lost(new Error('connection closed'));
    });
  };

  const onAbort = () => out.destroy(signal!.reason instanceof Error ? signal!.reason : new Error('aborted'));
  signal?.addEventListener('abort', onAbort, { once: true });
  out.once('close', () => signal?.removeEventListener('abort', onAbort));
  attach(first.res, first.skip);
  return out;
}
