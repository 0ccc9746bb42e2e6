import { deleteBlob, getBlob } from './handlers/blobs.js';
import type { Handler } from './handlers/context.js';
import { base, catalog, listTags, referrers } from './handlers/listings.js';
import { deleteManifest, getManifest, putManifest } from './handlers/manifests.js';
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from './handlers/uploads.js';

export interface Route {
  name: string;
  pattern: RegExp;
  methods: Partial<Record<string, Handler>>;
}

/**
 * The one route table. Order matters: a repository name may contain `/`, so the more specific
 * suffixes (uploads) come before the general ones (blobs). Names are validated by the dispatcher.
 */
export const routes: Route[] = [
  { name: 'base', pattern: /^\/v2\/?$/, methods: { GET: base, HEAD: base } },
  { name: 'catalog', pattern: /^\/v2\/_catalog$/, methods: { GET: catalog } },
  { name: 'tags', pattern: /^\/v2\/(?<name>.+)\/tags\/list$/s, methods: { GET: listTags } },
  {
    name: 'manifest',
    pattern: /^\/v2\/(?<name>.+)\/manifests\/(?<reference>[^/]+)$/s,
    methods: { GET: getManifest, HEAD: getManifest, PUT: putManifest, DELETE: deleteManifest },
  },
  { name: 'upload-start', pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/?$/s, methods: { POST: startUpload } },
  {
    name: 'upload',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/(?<uuid>[^/]+)$/s,
    methods: { GET: uploadStatus, PATCH: patchUpload, PUT: finishUpload, DELETE: cancelUpload },
  },
  { name: 'blob', pattern: /^\/v2\/(?<name>.+)\/blobs\/(?<digest>[^/]+)$/s, methods: { GET: getBlob, HEAD: getBlob, DELETE: deleteBlob } },
  { name: 'referrers', pattern: /^\/v2\/(?<name>.+)\/referrers\/(?<digest>[^/]+)$/s, methods: { GET: referrers } },
];

export function matchRoute(path: string): { route: Route; params: Record<string, string> } | undefined {
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (m) return { route, params: { ...m.groups } };
  }
  return undefined;
}
