/**
 * `GET /events`: past events from `since` (up to `until`), then new ones as they happen until
 * `until` or the client goes, one JSON object per line; `filters` by type, event (action),
 * container, image, network, volume, label.
 */
import type { DaemonContext } from '../daemon-context.js';
import { parseEventTime, type DaemonEvent } from '../events.js';
import { labelsMatch, parseFilters, type Filters } from '../filters.js';
import type { ApiRequest } from '../request.js';

function matches(e: DaemonEvent, f: Filters): boolean {
  const types = f.get('type');
  if (types && !types.includes(e.Type)) return false;
  const actions = f.get('event');
  // "exec_start: sh" matches the filter "exec_start".
  if (actions && !actions.some((a) => e.Action === a || e.Action.startsWith(`${a}:`))) return false;
  const attrs = e.Actor.Attributes;
  const byIdOrName = (key: string, type: DaemonEvent['Type']) => {
    const wanted = f.get(key);
    if (!wanted) return true;
    if (e.Type !== type) return false;
    return wanted.some((w) => e.Actor.ID.startsWith(w) || attrs.name === w);
  };
  if (!byIdOrName('container', 'container') || !byIdOrName('network', 'network') || !byIdOrName('volume', 'volume')) return false;
  const images = f.get('image');
  if (images && !images.some((i) => attrs.image === i || (e.Type === 'image' && (e.Actor.ID === i || attrs.name === i)) || (attrs.image ?? '').split(':')[0] === i)) return false;
  if (!labelsMatch(attrs, f.get('label'))) return false;
  return true;
}

export async function eventsHandler(daemon: DaemonContext, { res, query, signal }: ApiRequest): Promise<void> {
  const filters = parseFilters(query.get('filters'), ['type', 'event', 'container', 'image', 'network', 'volume', 'label', 'daemon', 'scope', 'node', 'service', 'plugin', 'config', 'secret']);
  const since = query.get('since');
  const until = query.get('until');
  const sinceNs = since ? parseEventTime(since) : undefined;
  const untilNs = until ? parseEventTime(until) : undefined;
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/json');
  res.flushHeaders();
  const send = (e: DaemonEvent): void => {
    if (!res.destroyed && matches(e, filters)) res.write(`${JSON.stringify(e)}\n`);
  };
  const buffered: DaemonEvent[] = [];
  let live = false;
  const unsubscribe = daemon.events.subscribe((e) => {
    if (untilNs !== undefined && e.timeNano > untilNs) return;
    if (live) send(e);
    else buffered.push(e);
  });
  try {
    if (sinceNs !== undefined) for (const e of daemon.events.since(sinceNs)) if (untilNs === undefined || e.timeNano <= untilNs) send(e);
    for (const e of buffered) send(e);
    live = true;
    const untilMs = untilNs === undefined ? undefined : untilNs / 1e6 - Date.now();
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
      if (untilMs !== undefined) setTimeout(resolve, Math.max(0, untilMs)).unref();
    });
  } finally {
    unsubscribe();
    if (!res.destroyed) res.end();
  }
}
