/**
 * The one-line errors docker prints for a failed push. A registry's error body reads as
 * distribution's errcode does: the code in lower case with spaces, then the message
 * (`denied: requested access to the resource is denied`, `unauthorized: authentication required`).
 */
import { TsdError, isTsdError } from '../../shared/errors.js';

interface WireError {
  code?: unknown;
  message?: unknown;
}

function registryErrors(err: TsdError): WireError[] {
  const detail = err.detail as { errors?: unknown } | undefined;
  return Array.isArray(detail?.errors) ? (detail.errors as WireError[]) : [];
}

/** `err` with docker's wording when the registry explained itself; other errors as they are. */
export function dockerPushError(err: unknown): unknown {
  if (!isTsdError(err)) return err;
  const first = registryErrors(err)[0];
  if (typeof first?.code !== 'string' || first.code === '') {
    // A HEAD has no body to explain a refusal: say what the status means, as docker does.
    const status = (err.detail as { status?: unknown } | undefined)?.status;
    if (status === 401) return new TsdError('UNAUTHORIZED', 'unauthorized: authentication required', { cause: err, detail: err.detail, status: 401 });
    if (status === 403) return new TsdError('DENIED', 'denied: requested access to the resource is denied', { cause: err, detail: err.detail, status: 403 });
    return err;
  }
  const code = first.code.toLowerCase().replaceAll('_', ' ');
  const message = typeof first.message === 'string' && first.message !== '' ? `${code}: ${first.message}` : code;
  return new TsdError(err.code, message, { cause: err, detail: err.detail, status: err.status });
}

export function imageNotFound(familiarRepository: string): TsdError {
  return new TsdError('NOT_FOUND', `An image does not exist locally with the tag: ${familiarRepository}`, { detail: { reference: familiarRepository } });
}
