/** `/volumes` endpoints over the VolumeStore: list, create, inspect, remove, prune. */
import type { Volume } from '../volumes/store.js';
import type { DaemonContext } from '../daemon-context.js';
import { boolFilter, labelsMatch, parseFilters } from '../filters.js';
import { boolParam, readJSON, type ApiRequest } from '../request.js';
import { sendEmpty, sendJSON } from '../respond.js';
import type { CreateVolumeRequest } from '../volumes/store.js';

export function listVolumesHandler(daemon: DaemonContext, { res, query }: ApiRequest): void {
  const filters = parseFilters(query.get('filters'), ['name', 'driver', 'label', 'dangling']);
  const dangling = boolFilter(filters, 'dangling');
  const list = daemon.volumes.list().filter((v: Volume) => {
    const names = filters.get('name');
    if (names && !names.some((n) => v.Name.includes(n))) return false;
    const drivers = filters.get('driver');
    if (drivers && !drivers.includes(v.Driver)) return false;
    if (!labelsMatch(v.Labels, filters.get('label'))) return false;
    if (dangling !== undefined && dangling !== (daemon.containers.usingVolume(v.Name).length === 0)) return false;
    return true;
  });
  sendJSON(res, 200, { Volumes: list, Warnings: null });
}

export async function createVolumeHandler(daemon: DaemonContext, { req, res }: ApiRequest): Promise<void> {
  const body = await readJSON<CreateVolumeRequest>(req);
  const { volume, created } = await daemon.volumes.create(body);
  if (created) daemon.events.emit('volume', 'create', volume.Name, { driver: volume.Driver });
  sendJSON(res, 201, volume);
}

export function inspectVolumeHandler(daemon: DaemonContext, { res, params }: ApiRequest): void {
  sendJSON(res, 200, daemon.volumes.get(params.name!));
}

export async function removeVolumeHandler(daemon: DaemonContext, { res, params, query }: ApiRequest): Promise<void> {
  const existed = daemon.volumes.has(params.name!);
  await daemon.volumes.remove(params.name!, { force: boolParam(query, 'force') });
  if (existed) daemon.events.emit('volume', 'destroy', params.name!, { driver: 'local' });
  sendEmpty(res, 204);
}

export async function pruneVolumesHandler(daemon: DaemonContext, { res, query }: ApiRequest): Promise<void> {
  const filters = parseFilters(query.get('filters'), ['label', 'label!', 'all']);
  const result = await daemon.volumes.prune((v) => {
    if (!labelsMatch(v.Labels, filters.get('label'))) return true;
    const not = filters.get('label!');
    return not !== undefined && not.some((l) => labelsMatch(v.Labels, [l]));
  });
  for (const name of result.VolumesDeleted) daemon.events.emit('volume', 'destroy', name, { driver: 'local' });
  sendJSON(res, 200, { VolumesDeleted: result.VolumesDeleted.length > 0 ? result.VolumesDeleted : null, SpaceReclaimed: result.SpaceReclaimed });
}
