/**
 * `GET /containers/json` filters as dockerd applies them: status, name and id (regular
 * expressions), label, ancestor (the image by name or ID), exited (exit code), network, volume,
 * before / since (other containers by name or ID), expose / publish (ports).
 */
import { badParameter } from '../errors.js';
import { labelsMatch, type Filters } from '../filters.js';
import type { ContainerRecord } from './record.js';
import { statusOf, type LiveInfo } from './views.js';

export const containerListFilterKeys = ['status', 'name', 'id', 'label', 'ancestor', 'exited', 'network', 'volume', 'before', 'since', 'expose', 'publish', 'health', 'isolation', 'is-task'];

const statuses = ['created', 'restarting', 'running', 'removing', 'paused', 'exited', 'dead'];

function regexpMatch(patterns: string[] | undefined, ...values: string[]): boolean {
  if (!patterns) return true;
  return patterns.some((p) => {
    let re: RegExp;
    try {
      re = new RegExp(p);
    } catch {
      throw badParameter(`invalid filter value: ${p}`);
    }
    return values.some((v) => re.test(v));
  });
}

export interface ListContext {
  /** Image IDs a reference (name or ID) stands for; empty when it names no image. */
  imageIds(reference: string): string[];
  /** Creation time (ms) of a container given by name or ID; throws docker's not-found. */
  createdOf(reference: string): number;
}

export function checkListFilters(filters: Filters): void {
  for (const s of filters.get('status') ?? []) if (!statuses.includes(s)) throw badParameter(`Invalid filter 'status=${s}'`);
}

export function containerMatches(record: ContainerRecord, live: LiveInfo, filters: Filters, ctx: ListContext): boolean {
  const status = statusOf(live);
  const statusWanted = filters.get('status');
  if (statusWanted && !statusWanted.includes(status)) return false;
  if (!regexpMatch(filters.get('name'), `/${record.name}`, record.name)) return false;
  if (!regexpMatch(filters.get('id'), record.id)) return false;
  if (!labelsMatch(record.config.Labels, filters.get('label'))) return false;
  const ancestors = filters.get('ancestor');
  if (ancestors && !ancestors.some((a) => a === record.config.Image || ctx.imageIds(a).includes(record.imageId))) return false;
  const exited = filters.get('exited');
  if (exited) {
    if (status !== 'exited') return false;
    if (!exited.some((x) => Number(x) === (live.state.exitCode ?? 0))) return false;
  }
  const networks = filters.get('network');
  if (networks && !networks.some((n) => n in record.networks || Object.values(live.networks).some((e) => e.NetworkID.startsWith(n)))) return false;
  const volumes = filters.get('volume');
  if (volumes && !volumes.some((v) => record.mounts.some((m) => m.Name === v || m.Source === v || m.Destination === v))) return false;
  const created = Date.parse(record.created);
  for (const b of filters.get('before') ?? []) if (!(created < ctx.createdOf(b))) return false;
  for (const s of filters.get('since') ?? []) if (!(created > ctx.createdOf(s))) return false;
  const exposed = filters.get('expose');
  if (exposed && !exposed.some((p) => Object.keys(record.config.ExposedPorts ?? {}).includes(p.includes('/') ? p : `${p}/tcp`))) return false;
  const published = filters.get('publish');
  if (published && !published.some((p) => Object.values(live.ports).some((bs) => (bs ?? []).some((b) => b.HostPort === p.split('/')[0])))) return false;
  if (filters.get('is-task')?.includes('true')) return false;
  return true;
}
