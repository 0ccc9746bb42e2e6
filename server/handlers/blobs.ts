import { TsdError } from '../../shared/errors.js';
import { parseDigest } from '../../shared/digest.js';
import { parseRangeHeader, sendEmpty } from '../http.js';
import type { Handler } from './context.js';
import { assertDeletable } from './write-guard.js';

/** GET and HEAD /v2/<name>/blobs/<digest>, with single byte ranges. */
export const getBlob: Handler = async (ctx) => {
  const { req, res, params, registry } = ctx;
  const digest = parseDigest(params.digest!);
  const info = await registry.blobs.stat(params.name!, digest);
  const redirect = await registry.blobs.redirectURL(params.name!, digest, req.method === 'HEAD' ? 'HEAD' : 'GET');
  if (redirect) {
    sendEmpty(res, 307, { Location: redirect, 'Docker-Content-Digest': digest });
    return;
  }
  res.setHeader('Docker-Content-Digest', digest);
  res.setHeader('Content-Type', 'application/octet-stream');
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('ETag', `"${digest}"`);
  res.setHeader('Cache-Control', 'max-age=31536000');
  if (req.headers['if-none-match'] === `"${digest}"`) {
    sendEmpty(res, 304);
    return;
  }
  const range = parseRangeHeader(req.headers.range, info.size);
  if (range === 'unsatisfiable') {
    throw new TsdError('RANGE_INVALID', 'requested range not satisfiable', { headers: { 'Content-Range': `bytes */${info.size}` } });
  }
  if (range) {
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${range.offset}-${range.offset + range.length - 1}/${info.size}`);
  } else {
    res.statusCode = 200;
  }
  res.setHeader('Content-Length', range ? range.length : info.size);
  if (req.method === 'HEAD' || info.size === 0 || range?.length === 0) {
    res.end();
    return;
  }
  await registry.blobs.copyTo(params.name!, digest, res, range);
  res.end();
  ctx.notify('pull', { mediaType: 'application/octet-stream', digest, size: info.size, repository: params.name! });
};

/** DELETE /v2/<name>/blobs/<digest>: unlink from the repository (data goes at garbage collection). */
export const deleteBlob: Handler = async (ctx) => {
  assertDeletable(ctx);
  const digest = parseDigest(ctx.params.digest!);
  await ctx.registry.blobs.unlink(ctx.params.name!, digest);
  sendEmpty(ctx.res, 202, { 'Docker-Content-Digest': digest });
  ctx.notify('delete', { digest, repository: ctx.params.name! });
};
