/**
 * Errors on the Engine API wire, as dockerd sends them: `{"message":"..."}` with the status of the
 * error's class (400 bad parameter, 401, 403, 404 not found, 409 conflict, 501 not implemented,
 * 500 anything else).
 */
import { isTsdError, TsdError } from '../../shared/errors.js';

/** The status of an error: the table's for our errors; 501 for what the engine does not do. */
export function statusOf(err: unknown): number {
  if (isTsdError(err)) {
    // The table's 405 is the registry protocol's "unsupported"; an engine feature we lack is dockerd's NotImplemented.
    if (err.code === 'UNSUPPORTED' && err.status === 405) return 501;
    return err.status;
  }
  return 500;
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

export function notImplemented(what: string): TsdError {
  return new TsdError('UNSUPPORTED', `${what} is not implemented`, { status: 501 });
}

export function badParameter(message: string): TsdError {
  return new TsdError('INVALID_ARGUMENT', message);
}

/** dockerd's answer to a path no route matches. */
export const pageNotFound = { status: 404, body: { message: 'page not found' } } as const;
