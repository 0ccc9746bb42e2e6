/**
 * The daemon's event log (`GET /events`, `docker events`): what happened to containers, images,
 * networks and volumes, in dockerd's message shape. Recent events are kept in memory (dockerd
 * keeps 256) so `since` can replay them; listeners get new ones as they happen.
 */
import { EventEmitter } from 'node:events';
import { badParameter } from './errors.js';

export type EventType = 'container' | 'image' | 'network' | 'volume' | 'daemon';

export interface DaemonEvent {
  Type: EventType;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  /** The old (pre-1.22) fields dockerd still sends for containers and images. */
  status?: string;
  id?: string;
  from?: string;
}

const KEEP = 256;

/**
 * The smallest number above `value`. Nanosecond times are past 2^53, where `value + 1` rounds back
 * to `value` (the spacing there is 256 ns), so step up until the sum differs.
 */
function nextAbove(value: number): number {
  let step = 1;
  while (value + step <= value) step *= 2;
  return value + step;
}

export class EventLog {
  private readonly recent: DaemonEvent[] = [];
  private readonly emitter = new EventEmitter();
  private lastNano = 0;

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  emit(type: EventType, action: string, id: string, attributes: Record<string, string> = {}): DaemonEvent {
    // Strictly increasing times keep `since`/`until` replays exact.
    let nano = Date.now() * 1_000_000 + Number(process.hrtime.bigint() % 1_000_000n);
    if (nano <= this.lastNano) nano = nextAbove(this.lastNano);
    this.lastNano = nano;
    const event: DaemonEvent = { Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local', time: Math.floor(nano / 1e9), timeNano: nano };
    if (type === 'container' || type === 'image') {
      event.status = action;
      event.id = id;
      if (type === 'container' && attributes.image !== undefined) event.from = attributes.image;
    }
    this.recent.push(event);
    if (this.recent.length > KEEP) this.recent.shift();
    this.emitter.emit('event', event);
    return event;
  }

  /** Kept events at or after `sinceNano`. */
  since(sinceNano: number): DaemonEvent[] {
    return this.recent.filter((e) => e.timeNano >= sinceNano);
  }

  subscribe(listener: (e: DaemonEvent) => void): () => void {
    this.emitter.on('event', listener);
    return () => this.emitter.off('event', listener);
  }

  get listeners(): number {
    return this.emitter.listenerCount('event');
  }
}

/** docker's time arguments: unix seconds with optional fraction ("1700000000.5"), RFC 3339, or a duration ago ("10m"). */
export function parseEventTime(value: string, now = Date.now()): number {
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) {
    const [s, frac = ''] = v.split('.');
    return Number(s) * 1e9 + Number(frac.padEnd(9, '0').slice(0, 9));
  }
  const duration = /^(\d+(?:\.\d+)?)(ns|us|ms|s|m|h)$/.exec(v);
  if (duration) {
    const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    return Math.round((now - Number(duration[1]) * unit[duration[2]!]!) * 1e6);
  }
  const t = Date.parse(v);
  if (!Number.isNaN(t)) return t * 1e6;
  throw badParameter(`failed to parse value ${value} as a time`);
}
