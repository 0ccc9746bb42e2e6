/**
 * Numbers the way the docker CLI prints them (go-units): sizes in decimal or binary units with
 * Go's `%.Ng`, and durations as "2 days", "About an hour".
 */

/** Go's `%.{precision}g`: shortest of fixed or exponent form, trailing zeros dropped. */
export function formatG(value: number, precision: number): string {
  if (value === 0) return '0';
  if (!Number.isFinite(value)) return value > 0 ? '+Inf' : value < 0 ? '-Inf' : 'NaN';
  const p = Math.max(1, precision);
  const expForm = value.toExponential(p - 1); // rounding decides the exponent, as in Go
  const [mantissa, expText] = expForm.split('e') as [string, string];
  const exp = Number(expText);
  const strip = (s: string) => (s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s);
  if (exp < -4 || exp >= p) {
    const sign = exp < 0 ? '-' : '+';
    return `${strip(mantissa)}e${sign}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  return strip(value.toFixed(Math.max(0, p - 1 - exp)));
}

const decimalUnits = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];
const binaryUnits = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

function scaled(size: number, base: number, unitNames: string[], precision: number): string {
  let value = size;
  let i = 0;
  while (value >= base && i < unitNames.length - 1) {
    value /= base;
    i++;
  }
  return `${formatG(value, precision)}${unitNames[i]}`;
}

/** go-units HumanSizeWithPrecision: `docker images` and `history` use 3 digits ("1.8MB"). */
export function humanSizeWithPrecision(bytes: number, precision: number): string {
  return scaled(bytes, 1000, decimalUnits, precision);
}

/** go-units HumanSize (4 digits): progress counters and "Total reclaimed space". */
export function humanSize(bytes: number): string {
  return humanSizeWithPrecision(bytes, 4);
}

/** go-units BytesSize (binary units, 4 digits): `docker info`'s Total Memory ("23.54GiB"). */
export function bytesSize(bytes: number): string {
  return scaled(bytes, 1024, binaryUnits, 4);
}

/** go-units HumanDuration: how docker says how long ago something was created. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / 3_600_000 + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  return `${Math.trunc(ms / 3_600_000 / 24 / 365)} years`;
}

/** "2 days ago" for a Unix time in seconds, as `docker images` prints CREATED. */
export function createdSince(unixSeconds: number, now = Date.now()): string {
  return `${humanDuration(now - unixSeconds * 1000)} ago`;
}

/** Go's time.RFC3339 in the local time zone (`2024-01-01T00:00:00Z`, `...+02:00`). */
export function rfc3339Local(unixSeconds: number): string {
  const date = new Date(unixSeconds * 1000);
  const offsetMinutes = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offsetMinutes * 60_000);
  const base = local.toISOString().slice(0, 19);
  if (offsetMinutes === 0) return `${base}Z`;
  const sign = offsetMinutes > 0 ? '+' : '-';
  const abs = Math.abs(offsetMinutes);
  return `${base}${sign}${String(Math.trunc(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** Go's time.Time.String() for a Unix time in the local zone (`2024-01-01 00:00:00 +0000 UTC`). */
export function goTimeString(unixSeconds: number): string {
  const date = new Date(unixSeconds * 1000);
  const offsetMinutes = -date.getTimezoneOffset();
  const local = new Date(date.getTime() + offsetMinutes * 60_000).toISOString();
  const abs = Math.abs(offsetMinutes);
  const offset = `${offsetMinutes < 0 ? '-' : '+'}${String(Math.trunc(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
  const zone = new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(date).find((p) => p.type === 'timeZoneName')?.value ?? '';
  return `${local.slice(0, 10)} ${local.slice(11, 19)} ${offset} ${zone}`;
}
