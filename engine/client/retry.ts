/**
 * Retries with exponential backoff and jitter: connection failures and 5xx for idempotent
 * requests, 429 (any method: the server did not act on it) honouring Retry-After. Bounded in
 * attempts and in how long a Retry-After may make us wait.
 */
import { backoff, discard, isIdempotent, isNetworkError, isReplayable, sleep, type HttpResponse, type Interceptor } from './transport.js';

export interface RetryOptions {
  /** Attempts after the first (default 3). */
  retries?: number;
  /** First backoff, doubling each attempt (default 200 ms) up to `maxDelayMs` (default 5 s). */
  minDelayMs?: number;
  maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for; the response is returned (default 60 s). */
  maxRetryAfterMs?: number;
  /** Statuses retried for idempotent requests (default 500, 502, 503, 504). */
  statuses?: number[];
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unusable. */
export function retryAfterMs(res: HttpResponse, now = Date.now()): number | undefined {
  const value = res.headers['retry-after']?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

export function retry(options: RetryOptions = {}): Interceptor {
  const retries = options.retries ?? 3;
  const minDelayMs = options.minDelayMs ?? 200;
  const maxDelayMs = options.maxDelayMs ?? 5000;
  const maxRetryAfterMs = options.maxRetryAfterMs ?? 60_000;
  const statuses = new Set(options.statuses ?? [500, 502, 503, 504]);
  return (next) => async (request) => {
    const replayable = isReplayable(request);
    const idempotent = isIdempotent(request);
    for (let attempt = 0; ; attempt++) {
      const last = attempt >= retries || !replayable;
      let res: HttpResponse;
      try {
        res = await next(request);
      } catch (err) {
        if (last || !idempotent || !isNetworkError(err) || request.signal?.aborted) throw err;
        await sleep(backoff(attempt, minDelayMs, maxDelayMs), request.signal);
        continue;
      }
      if (last) return res;
      let delay: number | undefined;
      if (res.status === 429) {
        delay = retryAfterMs(res) ?? backoff(attempt, minDelayMs, maxDelayMs);
      } else if (idempotent && statuses.has(res.status)) {
        delay = (res.status === 503 ? retryAfterMs(res) : undefined) ?? backoff(attempt, minDelayMs, maxDelayMs);
      }
      if (delay === undefined || delay > maxRetryAfterMs) return res;
      discard(res);
      await sleep(delay, request.signal);
    }
  };
}
