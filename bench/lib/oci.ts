import { Client, expectStatus, sha256Digest } from './http.js';

/** How a registry takes a monolithic push (found by probing). */
export type PushMode = 'post-monolithic' | 'post-put';

function withDigest(location: string, digest: string): string {
  return location + (location.includes('?') ? '&' : '?') + 'digest=' + digest;
}

function location(res: { headers: Record<string, unknown> }, what: string): string {
  const loc = res.headers['location'];
  if (typeof loc !== 'string' || loc === '') throw new Error(`${what}: no Location header`);
  return loc;
}

/** POST /v2/<name>/blobs/uploads/ and return the upload's Location. */
export async function startUpload(client: Client, repo: string): Promise<string> {
  const res = await client.request('POST', `/v2/${repo}/blobs/uploads/`);
  expectStatus(res, 202, `POST upload in ${repo}`);
  return location(res, 'POST upload');
}

/** Finish an upload with PUT ?digest=, sending `body` (may be absent after PATCHes). */
export async function finishUpload(client: Client, loc: string, digest: string, body?: Buffer): Promise<void> {
  const res = await client.request('PUT', withDigest(loc, digest), {
    body,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  expectStatus(res, 201, `PUT ${digest}`);
}

/** POST then PUT ?digest= with the whole body. */
export async function pushPostPut(client: Client, repo: string, blob: Buffer, digest: string): Promise<void> {
  const loc = await startUpload(client, repo);
  await finishUpload(client, loc, digest, blob);
}

/** POST ?digest= with the body: one request (OCI "single POST" monolithic upload). */
export async function pushPostMonolithic(client: Client, repo: string, blob: Buffer, digest: string): Promise<void> {
  const res = await client.request('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    body: blob,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  expectStatus(res, 201, `POST ?digest= ${digest}`);
}

/**
 * Try a single-POST monolithic push. A registry that answers 202 (distribution 2.8 ignores the body)
 * opened an ordinary upload: finish it with PUT and report that this registry needs POST+PUT.
 */
export async function probePushMode(client: Client, repo: string, blob: Buffer, digest: string): Promise<PushMode> {
  const res = await client.request('POST', `/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    body: blob,
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  if (res.status === 201) return 'post-monolithic';
  expectStatus(res, 202, `POST ?digest= probe`);
  await finishUpload(client, location(res, 'POST probe'), digest, blob);
  return 'post-put';
}

export function pushWithMode(mode: PushMode, client: Client, repo: string, blob: Buffer, digest: string): Promise<void> {
  return mode === 'post-monolithic'
    ? pushPostMonolithic(client, repo, blob, digest)
    : pushPostPut(client, repo, blob, digest);
}

/** POST, then PATCH chunks with Content-Range (each to the Location of the previous answer), then PUT ?digest=. */
export async function pushChunked(
  client: Client,
  repo: string,
  blob: Buffer,
  digest: string,
  chunkSize: number,
): Promise<void> {
  let loc = await startUpload(client, repo);
  for (let start = 0; start < blob.length; start += chunkSize) {
    const end = Math.min(start + chunkSize, blob.length);
    const res = await client.request('PATCH', loc, {
      body: blob.subarray(start, end),
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${end - 1}` },
    });
    expectStatus(res, 202, `PATCH ${start}-${end - 1}`);
    loc = location(res, 'PATCH');
  }
  await finishUpload(client, loc, digest);
}

export async function pushManifest(
  client: Client,
  repo: string,
  reference: string,
  manifest: Buffer,
  mediaType: string,
): Promise<void> {
  const res = await client.request('PUT', `/v2/${repo}/manifests/${reference}`, {
    body: manifest,
    headers: { 'Content-Type': mediaType },
  });
  expectStatus(res, 201, `PUT manifest ${repo}:${reference}`);
}

/** Does the registry hold this blob already? */
export async function hasBlob(client: Client, repo: string, digest: string): Promise<boolean> {
  const res = await client.request('HEAD', `/v2/${repo}/blobs/${digest}`);
  return res.status === 200;
}

export { sha256Digest };
