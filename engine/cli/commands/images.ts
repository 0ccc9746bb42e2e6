/**
 * `tsdocker images [OPTIONS] [REPOSITORY[:TAG]]` (also `image ls`): GET /images/json, printed as
 * docker prints it: a row per repository and tag (and per digest with --digests), untagged
 * images as `<none>`, 12-hex IDs unless --no-trunc.
 */
import { familiarName, parseImageReference } from '../../../shared/reference.js';
import { collectFilter, filtersJSON, type CommandSpec } from '../command-kit.js';
import { formatRows, isCustomFormat, type Row } from '../format/row-format.js';
import { renderTable } from '../format/table.js';
import { createdSince, goTimeString, humanSize, humanSizeWithPrecision } from '../format/units.js';

export interface ImageSummary {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Created: number;
  Size: number;
}

export interface ImageRow {
  repository: string;
  tag: string;
  digest: string;
  id: string;
  created: number;
  size: number;
}

interface ImagesOptions {
  all?: boolean;
  digests?: boolean;
  filter?: string[];
  format?: string;
  /** false with --no-trunc */
  trunc?: boolean;
  quiet?: boolean;
}

/** docker's short image ID: the first 12 hex digits. */
export function truncateId(id: string): string {
  return (id.includes(':') ? id.slice(id.indexOf(':') + 1) : id).slice(0, 12);
}

function isDangling(image: ImageSummary): boolean {
  const tags = image.RepoTags ?? [];
  const digests = image.RepoDigests ?? [];
  if (tags.length === 0 && digests.length === 0) return true;
  return tags.length === 1 && tags[0] === '<none>:<none>' && digests.length === 1 && digests[0] === '<none>@<none>';
}

/** Group an image's references by familiar repository name: `{repo -> tags}`, `{repo -> digests}`. */
function grouped(refs: string[], pick: 'tag' | 'digest'): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const text of refs) {
    let ref;
    try {
      ref = parseImageReference(text, { defaultTag: '' });
    } catch {
      continue; // `<none>:<none>` and the like
    }
    const value = pick === 'tag' ? ref.tag : ref.digest;
    if (!value) continue;
    const repo = familiarName(ref);
    groups.set(repo, [...(groups.get(repo) ?? []), value]);
  }
  return groups;
}

/** The rows docker shows for one image (its imageFormatTaggedAndDigest). */
export function imageRows(image: ImageSummary, showDigests: boolean): ImageRow[] {
  const row = (repository: string, tag: string, digest: string): ImageRow => ({ repository, tag, digest, id: image.Id, created: image.Created, size: image.Size });
  if (isDangling(image)) return [row('<none>', '<none>', '<none>')];
  const tags = grouped(image.RepoTags ?? [], 'tag');
  const digests = grouped(image.RepoDigests ?? [], 'digest');
  const rows: ImageRow[] = [];
  for (const [repo, repoTags] of tags) {
    const repoDigests = showDigests ? (digests.get(repo) ?? []) : [];
    digests.delete(repo);
    for (const tag of repoTags) {
      if (repoDigests.length === 0) rows.push(row(repo, tag, '<none>'));
      for (const digest of repoDigests) rows.push(row(repo, tag, digest));
    }
  }
  // Repositories known only by digest (pulled by digest, tag since removed).
  for (const [repo, repoDigests] of digests) {
    if (showDigests) for (const digest of repoDigests) rows.push(row(repo, '<none>', digest));
    else rows.push(row(repo, '<none>', '<none>'));
  }
  return rows;
}

export function imagesTable(images: ImageSummary[], options: { digests?: boolean; noTrunc?: boolean; now?: number }): string {
  const header = ['REPOSITORY', 'TAG', ...(options.digests ? ['DIGEST'] : []), 'IMAGE ID', 'CREATED', 'SIZE'];
  const rows = images.flatMap((image) => imageRows(image, Boolean(options.digests)));
  return renderTable([
    header,
    ...rows.map((r) => [
      r.repository,
      r.tag,
      ...(options.digests ? [r.digest] : []),
      options.noTrunc ? r.id : truncateId(r.id),
      createdSince(r.created, options.now),
      humanSizeWithPrecision(r.size, 3),
    ]),
  ]);
}

/** The fields `--format` templates see for a row, and their column names (docker's). */
function templateRow(r: ImageRow, noTrunc: boolean): Row {
  const size = humanSizeWithPrecision(r.size, 3);
  // docker writes this one with go-units' default 4 digits.
  const virtualSize = humanSize(r.size);
  return {
    Containers: 'N/A',
    CreatedAt: goTimeString(r.created),
    CreatedSince: createdSince(r.created),
    Digest: r.digest,
    ID: noTrunc ? r.id : truncateId(r.id),
    Repository: r.repository,
    SharedSize: 'N/A',
    Size: size,
    Tag: r.tag,
    UniqueSize: 'N/A',
    VirtualSize: virtualSize,
  };
}

const columnNames: Row = {
  Containers: 'CONTAINERS',
  CreatedAt: 'CREATED AT',
  CreatedSince: 'CREATED',
  Digest: 'DIGEST',
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  SharedSize: 'SHARED SIZE',
  Size: 'SIZE',
  Tag: 'TAG',
  UniqueSize: 'UNIQUE SIZE',
  VirtualSize: 'SIZE',
};

export const imagesCommand: CommandSpec<ImagesOptions> = {
  usage: '[OPTIONS] [REPOSITORY[:TAG]]',
  description: 'List images',
  args: { max: 1 },
  options: (c) =>
    c
      .option('-a, --all', 'Show all images (default hides intermediate images)')
      .option('--digests', 'Show digests')
      .option('-f, --filter <filter>', 'Filter output based on conditions provided', collectFilter)
      .option('--format <string>', 'Format output using a custom template: table, table TEMPLATE, json or TEMPLATE')
      .option('--no-trunc', "Don't truncate output")
      .option('-q, --quiet', 'Only show image IDs'),
  async run(ctx, [match], options) {
    const filters = [...(options.filter ?? [])];
    if (match) filters.push(`reference=${match}`);
    const images = await ctx.api.json<ImageSummary[]>({
      method: 'GET',
      path: '/images/json',
      query: { all: options.all ? true : undefined, filters: filtersJSON(filters) },
    });
    const noTrunc = options.trunc === false;
    if (isCustomFormat(options.format)) {
      const rows = images.flatMap((image) => imageRows(image, Boolean(options.digests) || /\.Digest\b/.test(options.format!)));
      ctx.out(formatRows(options.format, rows.map((r) => templateRow(r, noTrunc)), columnNames));
      return;
    }
    if (options.quiet) {
      const ids = images.flatMap((image) => imageRows(image, false).map((r) => (noTrunc ? r.id : truncateId(r.id))));
      ctx.out(ids.map((id) => `${id}\n`).join(''));
      return;
    }
    ctx.out(imagesTable(images, { digests: options.digests, noTrunc }));
  },
};
