/**
 * dockerd's wording for a registry that says no: a missing manifest, a denied or unknown
 * repository. The code stays the registry's (so callers can tell them apart); the HTTP status is
 * 404 as dockerd answers for all three.
 */
import { TsdError, errorTable, isTsdError, type ErrorCode } from '../../shared/errors.js';
import { familiarName, formatImageReference, type ImageReference } from '../../shared/reference.js';
import { familiar } from './image-store.js';

/** `denied: requested access to the resource is denied`: the registry's first error as docker prints it. */
function registryWords(err: TsdError): string {
  const detail = err.detail as { errors?: Array<{ code?: unknown; message?: unknown }> } | undefined;
  const first = detail?.errors?.[0];
  const code = typeof first?.code === 'string' ? first.code : err.code;
  const message = typeof first?.message === 'string' && first.message !== '' ? first.message : (errorTable[code as ErrorCode]?.message ?? err.code);
  return `${code.toLowerCase().replace(/_/g, ' ')}: ${message}`;
}

/** Translate an error from fetching `ref`'s manifest into dockerd's message. */
export function pullError(err: unknown, ref: ImageReference, anonymous: boolean): unknown {
  if (!isTsdError(err)) return err;
  const name = familiarName(ref);
  const options = { cause: err, detail: err.detail, status: 404 };
  switch (err.code) {
    case 'MANIFEST_UNKNOWN':
      return new TsdError('MANIFEST_UNKNOWN', `manifest for ${familiar(formatImageReference(ref))} not found: ${registryWords(err)}`, options);
    case 'NAME_UNKNOWN':
      return new TsdError('NAME_UNKNOWN', `repository ${name} not found: ${registryWords(err)}`, options);
    case 'DENIED':
      return new TsdError('DENIED', `pull access denied for ${name}, repository does not exist or may require 'docker login': ${registryWords(err)}`, options);
    case 'UNAUTHORIZED':
      // Without credentials a private repository looks like a missing one, as on Docker Hub.
      if (anonymous) {
        return new TsdError('UNAUTHORIZED', `pull access denied for ${name}, repository does not exist or may require 'docker login': ${registryWords(err)}`, options);
      }
      return err;
    default:
      return err;
  }
}
