/** `GET /containers/json`, `/containers/{id}/json`, `/logs`, `/top`. */
import { encodeFrame, STDERR, STDOUT } from '../../runtime/index.js';
import { openCgroup } from '../../runtime/cgroups.js';
import { checkListFilters, containerListFilterKeys, containerMatches } from '../containers/list.js';
import { readLogs } from '../containers/logs.js';
import { top } from '../containers/top.js';
import { inspectView, summaryView } from '../containers/views.js';
import type { DaemonContext } from '../daemon-context.js';
import { badParameter } from '../errors.js';
import { parseEventTime } from '../events.js';
import { parseFilters } from '../filters.js';
import { MULTIPLEXED_STREAM, RAW_STREAM } from '../hijack.js';
import { boolParam, type ApiRequest } from '../request.js';
import { sendJSON } from '../respond.js';
import type { Digest } from '../../../shared/digest.js';
import { TsdError } from '../../../shared/errors.js';

/** Bytes of the container's writable layer, and of it plus the image. */
async function sizes(daemon: DaemonContext, id: string): Promise<{ rw: number; rootFs: number }> {
  const record = daemon.containers.record(id);
  let rw = 0;
  try {
    rw = (await daemon.engine.snapshots.usage(record.snapshotKey)).size;
  } catch {
    rw = 0;
  }
  const image = daemon.engine.images.get(record.imageId as Digest);
  return { rw, rootFs: rw + (image?.size ?? 0) };
}

export async function listContainersHandler(daemon: DaemonContext, { res, query }: ApiRequest): Promise<void> {
  const filters = parseFilters(query.get('filters'), containerListFilterKeys);
  checkListFilters(filters);
  const all = boolParam(query, 'all');
  const withSize = boolParam(query, 'size');
  const limit = Number(query.get('limit') ?? '-1');
  const ctx = {
    imageIds: (reference: string) => {
      try {
        return [daemon.engine.images.resolve(reference).image.id as string];
      } catch {
        return [];
      }
    },
    createdOf: (reference: string) => Date.parse(daemon.containers.record(reference).created),
  };
  const rows: Array<{ created: string; row: Record<string, unknown> }> = [];
  for (const id of daemon.containers.ids()) {
    let record;
    let live;
    try {
      record = daemon.containers.record(id);
      live = await daemon.containers.live(id);
    } catch {
      continue; // removed meanwhile
    }
    const status = live.state.status;
    // Without -a: running ones only (and with a status filter, whatever it names).
    if (!all && !filters.has('status') && !(status === 'running' || live.restarting)) continue;
    if (!containerMatches(record, live, filters, ctx)) continue;
    rows.push({ created: record.created, row: summaryView(record, live, withSize ? await sizes(daemon, id) : undefined) });
  }
  rows.sort((a, b) => (a.created < b.created ? 1 : a.created > b.created ? -1 : 0));
  const listed = rows.map((r) => r.row);
  sendJSON(res, 200, limit > 0 ? listed.slice(0, limit) : listed);
}

export async function inspectContainerHandler(daemon: DaemonContext, { res, params, query }: ApiRequest): Promise<void> {
  const record = daemon.containers.record(params.id!);
  const live = await daemon.containers.live(record.id);
  sendJSON(res, 200, inspectView(record, live, boolParam(query, 'size') ? await sizes(daemon, record.id) : undefined));
}

function timeParam(query: URLSearchParams, name: string): number {
  const v = query.get(name);
  if (v === null || v === '' || v === '0') return 0;
  return parseEventTime(v);
}

export async function containerLogsHandler(daemon: DaemonContext, { res, params, query, signal }: ApiRequest): Promise<void> {
  const record = daemon.containers.record(params.id!);
  const stdout = boolParam(query, 'stdout');
  const stderr = boolParam(query, 'stderr');
  if (!stdout && !stderr) throw badParameter('Bad parameters: you must choose at least one stream');
  const tailText = query.get('tail') ?? 'all';
  let tail: number | undefined;
  if (tailText !== 'all' && tailText !== '') {
    if (!/^-?\d+$/.test(tailText)) throw badParameter(`invalid value for "tail": ${tailText}`);
    tail = Number(tailText) < 0 ? undefined : Number(tailText);
  }
  const timestamps = boolParam(query, 'timestamps');
  const tty = record.config.Tty ?? false;
  const runtime = daemon.containers.runtimeOf(record.id);
  const maxFile = runtime.spec.log.maxFile;
  res.statusCode = 200;
  res.setHeader('Content-Type', tty ? RAW_STREAM : MULTIPLEXED_STREAM);
  res.flushHeaders();
  const entries = readLogs(runtime.logPath, maxFile, {
    sinceNs: timeParam(query, 'since'),
    untilNs: timeParam(query, 'until'),
    ...(tail !== undefined ? { tail } : {}),
    follow: boolParam(query, 'follow'),
    running: async () => {
      try {
        return await daemon.containers.isRunning(record.id);
      } catch {
        return false;
      }
    },
    signal,
  });
  for await (const e of entries) {
    if ((e.stream === 'stdout' && !stdout) || (e.stream === 'stderr' && !stderr)) continue;
    const text = timestamps ? `${e.time} ${e.log}` : e.log;
    const data = Buffer.from(text, 'utf8');
    if (res.destroyed) break;
    res.write(tty ? data : encodeFrame(e.stream === 'stderr' ? STDERR : STDOUT, data));
  }
  res.end();
}


export async function topContainerHandler(daemon: DaemonContext, { res, params, query }: ApiRequest): Promise<void> {
  const record = daemon.containers.record(params.id!);
  if (!(await daemon.containers.isRunning(record.id))) throw new TsdError('ALREADY_EXISTS', `Container ${record.id} is not running`);
  const runtime = daemon.containers.runtimeOf(record.id);
  const pids = openCgroup(runtime.config.cgroup).pids();
  sendJSON(res, 200, await top(pids, query.get('ps_args') ?? ''));
}
