/** `/networks` endpoints over the NetworkManager: list, inspect, create, remove, connect, disconnect, prune. */
import { TsdError } from '../../../shared/errors.js';
import type { NetworkInspect } from '../../network/index.js';
import type { DaemonContext } from '../daemon-context.js';
import { badParameter } from '../errors.js';
import { globRegExp, labelsMatch, parseFilters } from '../filters.js';
import { readJSON, type ApiRequest } from '../request.js';
import { sendEmpty, sendJSON } from '../respond.js';

interface CreateNetworkBody {
  Name?: string;
  CheckDuplicate?: boolean;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  Ingress?: boolean;
  EnableIPv6?: boolean;
  IPAM?: { Driver?: string; Config?: Array<{ Subnet?: string; IPRange?: string; Gateway?: string }> | null; Options?: Record<string, string> | null } | null;
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
}

const predefined = new Set(['bridge', 'host', 'none']);

function matchesFilters(n: NetworkInspect, filters: Map<string, string[]>): boolean {
  const names = filters.get('name');
  if (names && !names.some((x) => n.Name.includes(x) || globRegExp(x).test(n.Name))) return false;
  const ids = filters.get('id');
  if (ids && !ids.some((x) => n.Id.startsWith(x))) return false;
  const drivers = filters.get('driver');
  if (drivers && !drivers.includes(n.Driver)) return false;
  if (!labelsMatch(n.Labels, filters.get('label'))) return false;
  const types = filters.get('type');
  if (types) {
    for (const t of types) if (t !== 'custom' && t !== 'builtin') throw badParameter(`invalid filter: 'type'='${t}'`);
    const kind = predefined.has(n.Name) ? 'builtin' : 'custom';
    if (!types.includes(kind)) return false;
  }
  const scopes = filters.get('scope');
  if (scopes && !scopes.includes('local')) return false;
  return true;
}

export async function listNetworksHandler(daemon: DaemonContext, { res, query }: ApiRequest): Promise<void> {
  const filters = parseFilters(query.get('filters'), ['name', 'id', 'driver', 'label', 'type', 'scope', 'dangling']);
  const dangling = filters.get('dangling');
  const list = (await daemon.network())
    .list()
    .filter((n) => matchesFilters(n, filters))
    .filter((n) => !dangling || (dangling.includes('true') ? !predefined.has(n.Name) && Object.keys(n.Containers).length === 0 : true))
    // dockerd's list leaves the endpoints out.
    .map((n) => ({ ...n, Containers: {} }));
  sendJSON(res, 200, list);
}

/** Network lookups fail in dockerd's words (`network x not found`, 404). */
async function inspectNetwork(daemon: DaemonContext, idOrName: string): Promise<NetworkInspect> {
  return (await daemon.network()).inspect(idOrName);
}

export async function inspectNetworkHandler(daemon: DaemonContext, { res, params }: ApiRequest): Promise<void> {
  sendJSON(res, 200, await inspectNetwork(daemon, params.id!));
}

export async function createNetworkHandler(daemon: DaemonContext, { req, res }: ApiRequest): Promise<void> {
  const body = await readJSON<CreateNetworkBody>(req);
  const name = body.Name ?? '';
  if (name === '') throw badParameter('network name is required');
  if (predefined.has(name)) throw new TsdError('DENIED', `${name} is a pre-defined network and cannot be created`);
  if (body.EnableIPv6) throw new TsdError('UNSUPPORTED', 'IPv6 networks are not supported', { status: 501 });
  const ipam = body.IPAM?.Config ?? [];
  if (ipam.length > 1) throw new TsdError('UNSUPPORTED', 'only one IPAM config (one IPv4 subnet) per network is supported', { status: 501 });
  const pool = ipam[0] ?? {};
  const created = await (await daemon.network()).create({
    name,
    driver: body.Driver || 'bridge',
    ...(pool.Subnet ? { subnet: pool.Subnet } : {}),
    ...(pool.Gateway ? { gateway: pool.Gateway } : {}),
    internal: body.Internal ?? false,
    options: body.Options ?? {},
    labels: body.Labels ?? {},
  });
  daemon.events.emit('network', 'create', created.Id, { name, type: body.Driver || 'bridge' });
  sendJSON(res, 201, created);
}

export async function removeNetworkHandler(daemon: DaemonContext, { res, params }: ApiRequest): Promise<void> {
  const n = await inspectNetwork(daemon, params.id!);
  await (await daemon.network()).remove(n.Id);
  daemon.events.emit('network', 'destroy', n.Id, { name: n.Name, type: n.Driver });
  sendEmpty(res, 204);
}

export async function connectNetworkHandler(daemon: DaemonContext, { req, res, params }: ApiRequest): Promise<void> {
  const body = await readJSON<{ Container?: string; EndpointConfig?: { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string } | null } | null }>(req);
  const n = await inspectNetwork(daemon, params.id!);
  const containerId = daemon.containers.resolveId(body.Container ?? '');
  const choice = { aliases: body.EndpointConfig?.Aliases ?? [], ...(body.EndpointConfig?.IPAMConfig?.IPv4Address ? { ipv4Address: body.EndpointConfig.IPAMConfig.IPv4Address } : {}) };
  await daemon.containers.connect(containerId, n.Name, choice);
  daemon.events.emit('network', 'connect', n.Id, { container: containerId, name: n.Name, type: n.Driver });
  sendEmpty(res, 200);
}

export async function disconnectNetworkHandler(daemon: DaemonContext, { req, res, params }: ApiRequest): Promise<void> {
  const body = await readJSON<{ Container?: string; Force?: boolean }>(req);
  const n = await inspectNetwork(daemon, params.id!);
  const containerId = daemon.containers.resolveId(body.Container ?? '');
  await daemon.containers.disconnect(containerId, n.Name);
  daemon.events.emit('network', 'disconnect', n.Id, { container: containerId, name: n.Name, type: n.Driver });
  sendEmpty(res, 200);
}

export async function pruneNetworksHandler(daemon: DaemonContext, { res, query }: ApiRequest): Promise<void> {
  const filters = parseFilters(query.get('filters'), ['label', 'until']);
  const deleted: string[] = [];
  for (const n of (await daemon.network()).list()) {
    if (predefined.has(n.Name) || Object.keys(n.Containers).length > 0 || daemon.containers.usingNetwork(n.Name).length > 0) continue;
    if (!labelsMatch(n.Labels, filters.get('label'))) continue;
    try {
      await (await daemon.network()).remove(n.Id);
      daemon.events.emit('network', 'destroy', n.Id, { name: n.Name, type: n.Driver });
      deleted.push(n.Name);
    } catch {
      /* in use meanwhile */
    }
  }
  sendJSON(res, 200, { NetworksDeleted: deleted.length > 0 ? deleted : null });
}
