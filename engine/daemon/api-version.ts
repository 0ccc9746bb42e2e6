/**
 * API versions: the `/vX.Y/` prefix a client puts on every path (dockerd accepts none, too), the
 * version we implement, and dockerd's answers to versions outside our range.
 */
import { TsdError } from '../../shared/errors.js';

/** The Engine API version served (Docker 20.10's). */
export const apiVersion = '1.41';
/** The oldest version a client may ask for (dockerd 20.10's minimum). */
export const minApiVersion = '1.12';

/** Compare two `X.Y` versions numerically. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Split `/v1.41/images/json` into the version and the route path. No prefix: the current version.
 * A version outside [min, current] is refused with dockerd's words.
 */
export function splitVersion(path: string): { version: string; path: string } {
  const m = /^\/v([0-9]+(?:\.[0-9]+)*)(\/.*)$/.exec(path);
  if (!m) return { version: apiVersion, path };
  const version = m[1]!;
  if (compareVersions(version, apiVersion) > 0) {
    throw new TsdError('INVALID_ARGUMENT', `client version ${version} is too new. Maximum supported API version is ${apiVersion}`);
  }
  if (compareVersions(version, minApiVersion) < 0) {
    throw new TsdError('INVALID_ARGUMENT', `client version ${version} is too old. Minimum supported API version is ${minApiVersion}, please upgrade your client to a newer version`);
  }
  return { version, path: m[2]! };
}
