import { TsdError } from '../../shared/errors.js';
import { parseDigest } from '../../shared/digest.js';
import { MediaTypes } from '../../shared/media-types.js';
import { query, sendJSON } from '../http.js';
import type { Handler, RequestContext } from './context.js';

/**
 * One page of a sorted list, distribution style: entries after `last`, at most `n`, and a
 * `Link: <...>; rel="next"` header when more remain.
 */
function paginate(ctx: RequestContext, all: string[], path: string, defaultPageSize: number | undefined): string[] {
  const q = query(ctx.req);
  const nRaw = q.get('n');
  const last = q.get('last');
  let n = defaultPageSize;
  if (nRaw !== null && nRaw !== '') {
    if (!/^\d{1,9}$/.test(nRaw) || Number(nRaw) > ctx.options.maxCatalogEntries) {
      throw new TsdError('PAGINATION_NUMBER_INVALID', `n must be an integer from 0 to ${ctx.options.maxCatalogEntries}`, {
        detail: { n: nRaw.slice(0, 20) },
      });
    }
    n = Number(nRaw);
  }
  const after = last !== null && last !== '' ? all.filter((x) => x > last) : all;
  if (n === undefined || after.length <= n) return after;
  const page = after.slice(0, n);
  if (page.length > 0) {
    const next = `${path}?n=${n}&last=${encodeURIComponent(page[page.length - 1]!)}`;
    ctx.res.setHeader('Link', `<${next}>; rel="next"`);
  }
  return page;
}

/** GET /v2/<name>/tags/list */
export const listTags: Handler = async (ctx) => {
  const name = ctx.params.name!;
  const tags = await ctx.registry.manifests.tags(name);
  if (tags === undefined) throw new TsdError('NAME_UNKNOWN', `repository "${name}" is not known`, { detail: { name } });
  sendJSON(ctx.res, 200, { name, tags: paginate(ctx, tags, `/v2/${name}/tags/list`, undefined) });
};

/** GET /v2/_catalog */
export const catalog: Handler = async (ctx) => {
  const all = await ctx.registry.repositories();
  sendJSON(ctx.res, 200, { repositories: paginate(ctx, all, '/v2/_catalog', ctx.options.maxCatalogEntries) });
};

/** GET /v2/<name>/referrers/<digest> */
export const referrers: Handler = async (ctx) => {
  const subject = parseDigest(ctx.params.digest!);
  const artifactType = query(ctx.req).get('artifactType');
  let manifests = await ctx.registry.manifests.referrers(ctx.params.name!, subject);
  if (artifactType !== null && artifactType !== '') {
    manifests = manifests.filter((m) => m.artifactType === artifactType);
    ctx.res.setHeader('OCI-Filters-Applied', 'artifactType');
  }
  sendJSON(ctx.res, 200, { schemaVersion: 2, mediaType: MediaTypes.ociIndex, manifests }, MediaTypes.ociIndex);
};

/** GET /v2/: the API version check. */
export const base: Handler = async ({ res }) => {
  sendJSON(res, 200, {});
};
