/**
 * `logs --since/--until` as docker's client turns them into the API's Unix time with nanoseconds:
 * a Go duration (`42m`, `1h30m`, `10s`) counts back from now, an RFC 3339 date or date-time is
 * that moment (local time when no zone is given), and `SECONDS[.NANOS]` passes through.
 */
import { CliError } from '../cli-error.js';

const unitNanos: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration, in nanoseconds; undefined when it is not a duration. */
export function goDurationNanos(text: string): number | undefined {
  const m = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(text);
  if (!m && text !== '0') return undefined;
  if (text === '0') return 0;
  let total = 0;
  for (const part of text.matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) total += Number(part[1]) * unitNanos[part[2]!]!;
  return text.startsWith('-') ? -total : total;
}

function format(ms: number, extraNanos = 0): string {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.round((ms - seconds * 1000) * 1e6) + extraNanos;
  return `${seconds}.${String(nanos).padStart(9, '0')}`;
}

export function apiTimestamp(value: string, now = Date.now()): string {
  if (value === '') return '';
  const duration = goDurationNanos(value);
  if (duration !== undefined) return format(now - duration / 1e6);
  if (/^\d+(\.\d{1,9})?$/.test(value)) return value;
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00` : value;
  // A date-time without a zone is local time, as in docker.
  const parsed = Date.parse(date);
  if (Number.isNaN(parsed)) throw new CliError(`invalid value for "since": failed to parse value as time or duration: "${value}"`);
  const fraction = /\.(\d+)/.exec(date)?.[1] ?? '';
  const subMs = fraction.length > 3 ? Number(fraction.slice(3, 9).padEnd(6, '0')) : 0;
  return format(parsed, subMs);
}
