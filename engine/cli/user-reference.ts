/**
 * Image references as the user typed them, the way the docker CLI reads them before talking to
 * the daemon: normalised (docker.io, library/), and whether a tag or digest was given at all
 * (`pull NAME` says "Using default tag: latest"; `pull -a NAME:TAG` is an error).
 */
import { familiarName, formatImageReference, parseImageReference, type ImageReference } from '../../shared/reference.js';

export interface UserReference {
  ref: ImageReference;
  /** Neither tag nor digest was written. */
  nameOnly: boolean;
}

export function parseUserReference(input: string): UserReference {
  const ref = parseImageReference(input, { defaultTag: '' });
  const nameOnly = ref.tag === '' && ref.digest === undefined;
  if (ref.tag === '') delete ref.tag;
  return { ref, nameOnly };
}

/** `127.0.0.1:5000/a/b`, `alpine`: the name the Engine API takes in `fromImage` and paths. */
export function apiName(ref: ImageReference): string {
  return familiarName(ref);
}

/** The canonical text docker prints after a pull or push (`docker.io/library/alpine:latest`). */
export function canonicalText(ref: ImageReference): string {
  return formatImageReference(ref);
}
