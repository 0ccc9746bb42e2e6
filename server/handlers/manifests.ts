import { TsdError } from '../../shared/errors.js';
import { maxManifestBytes } from '../../shared/manifest.js';
import { parseManifestReference } from '../../shared/reference.js';
import { readBody, sendEmpty } from '../http.js';
import type { Handler } from './context.js';
import { assertDeletable, assertWritable } from './write-guard.js';

/** GET and HEAD /v2/<name>/manifests/<reference>: the exact bytes that were pushed. */
export const getManifest: Handler = async ({ req, res, params, registry, notify }) => {
  const ref = parseManifestReference(params.reference!);
  const manifest = await registry.manifests.get(params.name!, ref);
  res.setHeader('Content-Type', manifest.mediaType);
  res.setHeader('Docker-Content-Digest', manifest.digest);
  res.setHeader('ETag', `"${manifest.digest}"`);
  if (req.headers['if-none-match'] === `"${manifest.digest}"`) {
    sendEmpty(res, 304);
    return;
  }
  res.setHeader('Content-Length', manifest.raw.length);
  res.statusCode = 200;
  res.end(req.method === 'HEAD' ? undefined : manifest.raw);
  if (req.method === 'GET') {
    notify('pull', { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.raw.length, repository: params.name!, ...(ref.kind === 'tag' ? { tag: ref.tag } : {}) });
  }
};

/** PUT /v2/<name>/manifests/<reference> */
export const putManifest: Handler = async (ctx) => {
  assertWritable(ctx);
  const { req, res, params, registry } = ctx;
  const ref = parseManifestReference(params.reference!);
  const raw = await readBody(req, maxManifestBytes, () => new TsdError('MANIFEST_TOO_LARGE', `manifest exceeds the ${maxManifestBytes} byte limit`));
  const parsed = await registry.manifests.put(params.name!, ref, raw, req.headers['content-type']);
  const headers: Record<string, string> = {
    Location: `/v2/${params.name}/manifests/${parsed.digest}`,
    'Docker-Content-Digest': parsed.digest,
  };
  if (parsed.subject) headers['OCI-Subject'] = parsed.subject.digest;
  sendEmpty(res, 201, headers);
  ctx.notify('push', { mediaType: parsed.mediaType, digest: parsed.digest, size: raw.length, repository: params.name!, ...(ref.kind === 'tag' ? { tag: ref.tag } : {}) });
};

/** DELETE /v2/<name>/manifests/<reference>: by digest removes the manifest, by tag only the tag. */
export const deleteManifest: Handler = async (ctx) => {
  assertDeletable(ctx);
  const ref = parseManifestReference(ctx.params.reference!);
  if (ref.kind === 'digest') await ctx.registry.manifests.deleteByDigest(ctx.params.name!, ref.digest);
  else await ctx.registry.manifests.deleteTag(ctx.params.name!, ref.tag);
  sendEmpty(ctx.res, 202);
  ctx.notify('delete', { repository: ctx.params.name!, ...(ref.kind === 'digest' ? { digest: ref.digest } : { tag: ref.tag }) });
};
