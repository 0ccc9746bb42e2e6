/** `GET /images/json`, `/images/{name}/json`, `/images/{name}/history`. */
import type { DaemonContext } from '../daemon-context.js';
import { parseFilters } from '../filters.js';
import { filterImages, imageListFilterKeys } from '../image-list.js';
import { lookupError, onImage } from '../image-names.js';
import type { ApiRequest } from '../request.js';
import { sendJSON } from '../respond.js';

function millis(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : t;
}

export async function listImages(daemon: DaemonContext, { res, query }: ApiRequest): Promise<void> {
  const filters = parseFilters(query.get('filters'), imageListFilterKeys);
  // The old single-reference form: GET /images/json?filter=name
  const legacy = query.get('filter');
  if (legacy) filters.set('reference', [...(filters.get('reference') ?? []), legacy]);
  const images = daemon.engine.images;
  const records = new Map(images.all().map((r) => [r.id as string, r]));
  const summaries = await images.list();
  const listed = filterImages(summaries, filters, {
    createdOf: (reference) => {
      try {
        return millis(images.resolve(reference).image.created);
      } catch (err) {
        throw lookupError(reference, err);
      }
    },
    createdById: (id) => millis(records.get(id)?.created ?? ''),
  });
  sendJSON(res, 200, listed);
}

export async function inspectImage(daemon: DaemonContext, { res, params }: ApiRequest): Promise<void> {
  const view = await onImage(params.name!, () => daemon.engine.images.inspect(params.name!));
  view.GraphDriver = { Name: daemon.engine.snapshots.name, Data: null };
  sendJSON(res, 200, view);
}

export async function imageHistory(daemon: DaemonContext, { res, params }: ApiRequest): Promise<void> {
  sendJSON(res, 200, await onImage(params.name!, () => daemon.engine.images.history(params.name!)));
}
