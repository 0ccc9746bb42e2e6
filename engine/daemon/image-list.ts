/**
 * `GET /images/json` filtering, as dockerd 20.10: `dangling`, `reference` (Go path.Match globs on
 * the familiar reference or name; only the matching tags and digests are listed), `before` /
 * `since` (created before / after a named image), `label` (`key` or `key=value`, all must match).
 * Images with no tags and no digests are shown with dockerd's `<none>:<none>` / `<none>@<none>`.
 */
import type { ImageSummary } from '../images/views.js';
import { boolFilter, globRegExp, labelsMatch, type Filters } from './filters.js';

export const imageListFilterKeys = ['before', 'dangling', 'label', 'reference', 'since'] as const;

/** docker's FamiliarMatch: the pattern against the familiar reference, or against its name alone. */
function referenceMatches(patterns: RegExp[], familiarRef: string): boolean {
  let name = familiarRef;
  const at = name.indexOf('@');
  if (at >= 0) name = name.slice(0, at);
  else {
    const colon = name.lastIndexOf(':');
    if (colon > name.lastIndexOf('/')) name = name.slice(0, colon);
  }
  return patterns.some((p) => p.test(familiarRef) || p.test(name));
}

export interface ListContext {
  /** Creation time (ms) of the image a before/since value names (throws when there is none). */
  createdOf(reference: string): number;
  /** Creation time (ms) of a listed image. */
  createdById(id: string): number;
}

export function filterImages(images: ImageSummary[], filters: Filters, ctx: ListContext): ImageSummary[] {
  const dangling = boolFilter(filters, 'dangling');
  const patterns = filters.get('reference')?.map(globRegExp);
  const before = filters.get('before')?.map((r) => ctx.createdOf(r));
  const since = filters.get('since')?.map((r) => ctx.createdOf(r));
  const labels = filters.get('label');
  const out: ImageSummary[] = [];
  for (const image of images) {
    const created = ctx.createdById(image.Id);
    if (before && !before.every((t) => created < t)) continue;
    if (since && !since.every((t) => created > t)) continue;
    if (!labelsMatch(image.Labels, labels)) continue;
    let repoTags = image.RepoTags;
    let repoDigests = image.RepoDigests;
    if (patterns) {
      repoTags = repoTags.filter((t) => referenceMatches(patterns, t));
      repoDigests = repoDigests.filter((d) => referenceMatches(patterns, d));
      if (repoTags.length + repoDigests.length === 0) continue;
    }
    if (image.RepoTags.length + image.RepoDigests.length === 0) {
      if (dangling === false) continue;
      out.push({ ...image, RepoTags: ['<none>:<none>'], RepoDigests: ['<none>@<none>'] });
      continue;
    }
    if (dangling === true && image.RepoTags.length > 0) continue;
    out.push({ ...image, RepoTags: repoTags, RepoDigests: repoDigests });
  }
  return out;
}
