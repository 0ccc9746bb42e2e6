/**
 * Docker Engine API shapes of the image store's records: `GET /images/json` entries,
 * `GET /images/{name}/json` (inspect) and `GET /images/{name}/history`.
 */
import type { ImageConfig } from '../../shared/manifest.js';
import type { ContentStore } from './content-store.js';
import { parseConfig, type ImageRecord } from './record.js';
import { familiar } from './image-store.js';

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[];
  RepoDigests: string[];
  Created: number;
  Size: number;
  SharedSize: number;
  VirtualSize: number;
  Labels: Record<string, string>;
  Containers: number;
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  Container: string;
  ContainerConfig: Record<string, unknown>;
  DockerVersion: string;
  Author: string;
  Config: Record<string, unknown> | null;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  VirtualSize: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
  /** Not docker's: what the record points at, for `tsdocker inspect` and debugging. */
  Descriptor: { mediaType: string; digest: string; size: number };
}

export interface HistoryEntry {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

function seconds(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : Math.floor(t / 1000);
}

export async function readConfig(content: ContentStore, record: ImageRecord): Promise<ImageConfig> {
  return parseConfig(await content.get(record.config.digest), record.config.digest);
}

export function summary(record: ImageRecord, config?: ImageConfig): ImageSummary {
  const labels = (config?.config?.Labels ?? {}) as Record<string, string>;
  return {
    Id: record.id,
    ParentId: '',
    RepoTags: record.repoTags.map(familiar),
    RepoDigests: record.repoDigests.map(familiar),
    Created: seconds(record.created),
    Size: record.size,
    SharedSize: -1,
    VirtualSize: record.size,
    Labels: labels ?? {},
    Containers: -1,
  };
}

/** dockerd's image Comment: the config's own, else the last history row's (where `docker commit -m` puts it). */
function commentOf(config: ImageConfig): string {
  const own = (config as { comment?: string }).comment;
  if (own) return own;
  return config.history?.at(-1)?.comment ?? '';
}

export function inspectView(record: ImageRecord, config: ImageConfig): ImageInspect {
  const out: ImageInspect = {
    Id: record.id,
    RepoTags: record.repoTags.map(familiar),
    RepoDigests: record.repoDigests.map(familiar),
    Parent: '',
    Comment: commentOf(config),
    Created: config.created ?? record.created,
    Container: '',
    ContainerConfig: {},
    DockerVersion: (config as { docker_version?: string }).docker_version ?? '',
    Author: config.author ?? '',
    Config: (config.config as Record<string, unknown> | undefined) ?? null,
    Architecture: config.architecture ?? record.platform?.architecture ?? '',
    Os: config.os ?? record.platform?.os ?? '',
    Size: record.size,
    VirtualSize: record.size,
    GraphDriver: { Name: '', Data: null },
    RootFS: { Type: config.rootfs?.type ?? 'layers', Layers: [...record.diffIds] },
    Metadata: { LastTagTime: record.lastTagTime ?? '0001-01-01T00:00:00Z' },
    Descriptor: { ...record.target },
  };
  const variant = config.variant ?? record.platform?.variant;
  if (variant) out.Variant = variant;
  const osVersion = (config as { 'os.version'?: string })['os.version'];
  if (osVersion) out.OsVersion = osVersion;
  return out;
}

/** Newest first, as docker; the top entry carries the image ID and tags, the others `<missing>`. */
export function historyView(record: ImageRecord, config: ImageConfig): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  let layer = 0;
  const history: NonNullable<ImageConfig['history']> = config.history ?? record.layers.map(() => ({}));
  for (const h of history) {
    const empty = h.empty_layer === true;
    const size = empty ? 0 : (record.layers[layer]?.size ?? 0);
    if (!empty) layer++;
    entries.push({ Id: '<missing>', Created: seconds(h.created ?? ''), CreatedBy: h.created_by ?? '', Tags: null, Size: size, Comment: h.comment ?? '' });
  }
  entries.reverse();
  if (entries.length > 0) {
    entries[0]!.Id = record.id;
    entries[0]!.Tags = record.repoTags.map(familiar);
  }
  return entries;
}
