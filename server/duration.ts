import { TsdError } from '../shared/errors.js';

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Go-style durations as distribution's config writes them: `300ms`, `30s`, `5m`, `1h30m`, `168h`; a bare number is seconds. */
export function parseDuration(value: unknown, key: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value * 1000;
  if (typeof value !== 'string' || value.trim() === '') throw new TsdError('CONFIG_INVALID', `${key} must be a duration such as "30s" or "24h"`);
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  let total = 0;
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let consumed = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * units[m[2]!]!;
    consumed = re.lastIndex;
  }
  if (consumed !== text.length || consumed === 0) throw new TsdError('CONFIG_INVALID', `${key}: "${text}" is not a duration such as "30s" or "24h"`);
  return total;
}
