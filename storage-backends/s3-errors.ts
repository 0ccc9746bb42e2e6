/** How the AWS SDK reports S3 errors, read one way for the backend and its writer. */

export function errorName(err: unknown): string | undefined {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  if (e?.$metadata?.httpStatusCode === 404) return 'NotFound';
  return e?.name ?? e?.Code;
}

/** A missing object (NotFound from HEAD, NoSuchKey from GET) or a missing upload (a 404). */
export function isMissing(err: unknown): boolean {
  const name = errorName(err);
  return name === 'NotFound' || name === 'NoSuchKey';
}
