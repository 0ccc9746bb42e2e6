/**
 * Container lifecycle endpoints: create, start, stop, kill, restart, wait, remove, rename,
 * resize, prune.
 */
import { TsdError } from '../../../shared/errors.js';
import type { CreateContainerBody } from '../containers/types.js';
import type { DaemonContext } from '../daemon-context.js';
import { badParameter, messageOf } from '../errors.js';
import { labelsMatch, parseFilters } from '../filters.js';
import { boolParam, readJSON, type ApiRequest } from '../request.js';
import { sendEmpty, sendJSON } from '../respond.js';

function seconds(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw badParameter(`invalid value for ${name}: ${v}`);
  return Number(v);
}

export async function createContainerHandler(daemon: DaemonContext, { req, res, query }: ApiRequest): Promise<void> {
  const body = await readJSON<CreateContainerBody>(req);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badParameter('Config cannot be empty in order to create a container');
  const name = query.get('name') ?? '';
  const { id, warnings } = await daemon.containers.create(body, name === '' ? undefined : name);
  sendJSON(res, 201, { Id: id, Warnings: warnings });
}

/** 204 on success; dockerd's 304 when there was nothing to do. */
async function noContent(res: ApiRequest['res'], work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    if (err instanceof TsdError && err.status === 304) return sendEmpty(res, 304);
    throw err;
  }
  sendEmpty(res, 204);
}

export async function startContainerHandler(daemon: DaemonContext, { res, params }: ApiRequest): Promise<void> {
  await noContent(res, () => daemon.containers.start(params.id!));
}

export async function stopContainerHandler(daemon: DaemonContext, { res, params, query }: ApiRequest): Promise<void> {
  await noContent(res, () => daemon.containers.stop(params.id!, seconds(query, 't')));
}

export async function restartContainerHandler(daemon: DaemonContext, { res, params, query }: ApiRequest): Promise<void> {
  await noContent(res, () => daemon.containers.restart(params.id!, seconds(query, 't')));
}

export async function killContainerHandler(daemon: DaemonContext, { res, params, query }: ApiRequest): Promise<void> {
  await noContent(res, () => daemon.containers.kill(params.id!, query.get('signal') || 'SIGKILL'));
}

export async function removeContainerHandler(daemon: DaemonContext, { res, params, query }: ApiRequest): Promise<void> {
  if (boolParam(query, 'link')) throw new TsdError('UNSUPPORTED', 'legacy links are not supported', { status: 501 });
  await daemon.containers.remove(params.id!, { force: boolParam(query, 'force'), volumes: boolParam(query, 'v') });
  sendEmpty(res, 204);
}

export async function renameContainerHandler(daemon: DaemonContext, { res, params, query }: ApiRequest): Promise<void> {
  await daemon.containers.rename(params.id!, query.get('name') ?? '');
  sendEmpty(res, 204);
}

function dimension(query: URLSearchParams, name: string): number {
  const v = query.get(name) ?? '';
  if (!/^\d+$/.test(v)) throw badParameter(`strconv.Atoi: parsing "${v}": invalid syntax`);
  return Number(v);
}

export async function resizeContainerHandler(daemon: DaemonContext, { res, params, query }: ApiRequest): Promise<void> {
  await daemon.containers.resize(params.id!, { rows: dimension(query, 'h'), cols: dimension(query, 'w') });
  res.statusCode = 200;
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Content-Length', 0);
  res.end();
}

/**
 * `POST /containers/{id}/wait`: the status line goes out at once (the CLI starts the container
 * only after its wait is in place), the body when the condition is met.
 */
export async function waitContainerHandler(daemon: DaemonContext, { res, params, query, signal }: ApiRequest): Promise<void> {
  const condition = query.get('condition') ?? '';
  const waiting = daemon.containers.wait(params.id!, condition, signal);
  // Lookup and condition errors come back before anything is sent.
  await Promise.race([waiting, new Promise((r) => setImmediate(r))]);
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json');
  res.flushHeaders();
  let body: unknown;
  try {
    const status = await waiting;
    body = { StatusCode: status?.exitCode ?? 0, Error: status?.error ? { Message: status.error } : null };
  } catch (err) {
    if (signal.aborted) return;
    body = { StatusCode: -1, Error: { Message: messageOf(err) } };
  }
  res.end(`${JSON.stringify(body)}\n`);
}

export async function pruneContainersHandler(daemon: DaemonContext, { res, query }: ApiRequest): Promise<void> {
  const filters = parseFilters(query.get('filters'), ['label', 'label!', 'until']);
  const until = filters.get('until')?.[0];
  const untilMs = until === undefined ? undefined : /^\d+$/.test(until) ? Number(until) * 1000 : Date.parse(until);
  const deleted = await daemon.containers.prune((id) => {
    const r = daemon.containers.record(id);
    if (!labelsMatch(r.config.Labels, filters.get('label'))) return true;
    const not = filters.get('label!');
    if (not && not.some((l) => labelsMatch(r.config.Labels, [l]))) return true;
    if (untilMs !== undefined && Date.parse(r.created) >= untilMs) return true;
    return false;
  });
  sendJSON(res, 200, { ContainersDeleted: deleted.length > 0 ? deleted : null, SpaceReclaimed: 0 });
}
