/** Messages between UnpackPool (main thread) and its workers, and errors across the boundary. */
import { TsdError, type ErrorCode } from '../../shared/errors.js';
import type { ApplyOptions, ApplyResult } from './apply.js';

export type WireOptions = Omit<ApplyOptions, 'signal'>;

export type ToWorker =
  | { t: 'start'; root: string; path?: string; options: WireOptions }
  | { t: 'chunk'; data: Uint8Array }
  | { t: 'end'; error?: string }
  | { t: 'abort'; reason: string };

export type FromWorker = { t: 'ack' } | { t: 'done'; result: ApplyResult } | { t: 'fail'; error: WireError };

export interface WireError {
  tsd: boolean;
  name: string;
  message: string;
  code?: string;
  detail?: unknown;
  stack?: string;
}

export function serializeError(err: unknown): WireError {
  if (err instanceof TsdError) return { tsd: true, name: err.name, message: err.message, code: err.code, detail: err.detail, stack: err.stack };
  const e = err as Partial<Error> & { code?: unknown };
  return { tsd: false, name: e?.name ?? 'Error', message: e?.message ?? String(err), code: typeof e?.code === 'string' ? e.code : undefined, stack: e?.stack };
}

export function deserializeError(w: WireError): Error {
  if (w.tsd && w.code) return new TsdError(w.code as ErrorCode, w.message, { detail: w.detail });
  const err = new Error(w.message) as Error & { code?: string };
  err.name = w.name;
  if (w.code !== undefined) err.code = w.code;
  if (w.stack) err.stack = `${err.name}: ${err.message}\n    [in unpack worker]\n${w.stack.split('\n').slice(1).join('\n')}`;
  return err;
}
