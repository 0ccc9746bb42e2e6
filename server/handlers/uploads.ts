import { digestOf } from '../../shared/digest.js';
import { parseRepositoryName } from '../../shared/reference.js';
import { contentLength, digestParam, hasBody, parseChunkRange, query, sendEmpty } from '../http.js';
import type { Handler, RequestContext } from './context.js';
import { assertWritable } from './write-guard.js';

const emptyDigest = digestOf(Buffer.alloc(0));

function uploadLocation(name: string, id: string): string {
  return `/v2/${name}/blobs/uploads/${id}`;
}

function rangeHeader(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

function sendCreated(ctx: RequestContext, info: { digest: string; size: number }, mountedFrom?: string): void {
  sendEmpty(ctx.res, 201, { Location: `/v2/${ctx.params.name}/blobs/${info.digest}`, 'Docker-Content-Digest': info.digest });
  const target = { mediaType: 'application/octet-stream', digest: info.digest, size: info.size, repository: ctx.params.name! };
  if (mountedFrom !== undefined) ctx.notify('mount', { ...target, fromRepository: mountedFrom });
  else ctx.notify('push', target);
}

/** POST /v2/<name>/blobs/uploads/: mount, monolithic upload, or a new session. */
export const startUpload: Handler = async (ctx) => {
  assertWritable(ctx);
  const name = ctx.params.name!;
  const q = query(ctx.req);
  const mount = q.get('mount');
  if (mount !== null) {
    const digest = digestParam(mount, 'mount');
    const fromValue = q.get('from');
    const from = fromValue === null ? undefined : parseRepositoryName(fromValue);
    // Mount only what the caller could read anyway; otherwise fall back to a normal upload.
    const allowed = from !== undefined ? ctx.caller.may([{ type: 'repository', name: from, actions: ['pull'] }]) : ctx.open;
    const mounted = allowed ? await ctx.registry.blobs.mount(name, digest, from) : undefined;
    if (mounted) {
      sendCreated(ctx, mounted, from ?? '');
      return;
    }
  }
  const digestValue = q.get('digest');
  if (mount === null && digestValue !== null) {
    const digest = digestParam(digestValue);
    if (hasBody(ctx.req) || digest === emptyDigest) {
      const info = await ctx.registry.uploads.monolithic(name, digest, ctx.req, contentLength(ctx.req));
      sendCreated(ctx, info);
      return;
    }
  }
  const session = await ctx.registry.uploads.create(name);
  sendEmpty(ctx.res, 202, {
    Location: uploadLocation(name, session.id),
    'Docker-Upload-UUID': session.id,
    Range: '0-0',
    'OCI-Chunk-Min-Length': 1,
  });
};

/** GET /v2/<name>/blobs/uploads/<uuid>: how much has arrived. */
export const uploadStatus: Handler = async (ctx) => {
  const { name, uuid } = ctx.params as { name: string; uuid: string };
  const status = await ctx.registry.uploads.status(name, uuid);
  sendEmpty(ctx.res, 204, { Location: uploadLocation(name, uuid), Range: rangeHeader(status.size), 'Docker-Upload-UUID': uuid });
};

/** PATCH /v2/<name>/blobs/uploads/<uuid>: append a chunk (with Content-Range) or a stream. */
export const patchUpload: Handler = async (ctx) => {
  assertWritable(ctx);
  const { name, uuid } = ctx.params as { name: string; uuid: string };
  const range = parseChunkRange(ctx.req.headers['content-range']);
  const status = await ctx.registry.uploads.append(name, uuid, ctx.req, range, contentLength(ctx.req));
  sendEmpty(ctx.res, 202, { Location: uploadLocation(name, uuid), Range: rangeHeader(status.size), 'Docker-Upload-UUID': uuid });
};

/** PUT /v2/<name>/blobs/uploads/<uuid>?digest=: the last chunk, verify, publish. */
export const finishUpload: Handler = async (ctx) => {
  assertWritable(ctx);
  const { name, uuid } = ctx.params as { name: string; uuid: string };
  const digest = digestParam(query(ctx.req).get('digest'));
  const range = parseChunkRange(ctx.req.headers['content-range']);
  const body = hasBody(ctx.req) ? ctx.req : undefined;
  const info = await ctx.registry.uploads.finish(name, uuid, digest, body, range, body ? contentLength(ctx.req) : undefined);
  sendCreated(ctx, info);
};

/** DELETE /v2/<name>/blobs/uploads/<uuid>: cancel. */
export const cancelUpload: Handler = async (ctx) => {
  assertWritable(ctx);
  const { name, uuid } = ctx.params as { name: string; uuid: string };
  await ctx.registry.uploads.cancel(name, uuid);
  sendEmpty(ctx.res, 204);
};
