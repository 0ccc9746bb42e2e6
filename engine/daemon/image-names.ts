/**
 * Image names as dockerd words them in answers: a lookup that fails names the reference in its
 * familiar form with the default tag (`No such image: debian:latest`); IDs stay as given; a name
 * that is not a valid reference is a bad parameter, not a missing image.
 */
import { isTsdError, TsdError } from '../../shared/errors.js';
import { formatImageReference, parseImageReference } from '../../shared/reference.js';
import { familiar } from '../images/image-store.js';

function looksLikeId(input: string): boolean {
  return /^sha256:[a-f0-9]{1,64}$/.test(input) || /^[a-f0-9]{64}$/.test(input);
}

/** What dockerd prints for a name it cannot find. */
export function dockerName(input: string): string {
  if (looksLikeId(input)) return input;
  try {
    return familiar(formatImageReference(parseImageReference(input)));
  } catch {
    return input;
  }
}

/**
 * The error to report for a failed lookup of `input`: the store's not-found becomes dockerd's
 * message, and an unparsable name a 400 with the reference error; anything else is unchanged.
 */
export function lookupError(input: string, err: unknown): unknown {
  if (!isTsdError(err, 'NOT_FOUND') || (err.detail as { reference?: unknown } | undefined)?.reference !== input) return err;
  if (!looksLikeId(input)) {
    try {
      parseImageReference(input);
    } catch (parseErr) {
      return parseErr;
    }
  }
  return new TsdError('NOT_FOUND', `No such image: ${dockerName(input)}`, { cause: err });
}

/** Run an image store call on a user's name, its lookup errors worded as dockerd's. */
export async function onImage<T>(input: string, fn: () => T | Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw lookupError(input, err);
  }
}
