/**
 * Values of the container flags, checked the way docker's flag types check them, with docker's
 * messages: sizes (`-m 512m`, go-units RAMInBytes), CPUs as a rational number (`--cpus 1.5`),
 * Go integers, `--restart` policies, `-e` variables, `-a` streams and `--pull` policies.
 * Parsers for commander throw InvalidArgumentError (a flag error, exit 125).
 */
import { InvalidArgumentError } from 'commander';
import { CliError } from '../cli-error.js';

const binaryUnits: Record<string, number> = { k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** Go's strconv.ParseFloat syntax (decimal, optional exponent; no hex, no underscores here). */
function goFloat(text: string): number | undefined {
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text) && !/^[+-]?(inf|infinity|nan)$/i.test(text)) return undefined;
  return Number(text.replace(/^([+-]?)inf(inity)?$/i, '$1Infinity'));
}

/** go-units RAMInBytes: `512`, `512k`, `1.5g`, `64MiB`, `1 GB` (binary multiples). */
export function ramInBytes(text: string): number {
  let sep = -1;
  for (let i = text.length - 1; i >= 0; i--) {
    if ('0123456789. '.includes(text[i]!)) {
      sep = i;
      break;
    }
  }
  if (sep === -1) throw new Error(`invalid size: '${text}'`);
  const num = text[sep] === ' ' ? text.slice(0, sep) : text.slice(0, sep + 1);
  let suffix = text.slice(sep + 1);
  const size = goFloat(num);
  if (size === undefined) throw new Error(`strconv.ParseFloat: parsing ${JSON.stringify(num)}: invalid syntax`);
  if (size < 0) throw new Error(`invalid size: '${text}'`);
  if (suffix === '') return Math.trunc(size);
  const bad = () => new Error(`invalid suffix: '${suffix}'`);
  if (suffix.length > 3) throw bad();
  suffix = suffix.toLowerCase();
  if (suffix[0] === 'b') {
    if (suffix.length > 1) throw bad();
    return Math.trunc(size);
  }
  const multiple = binaryUnits[suffix[0]!];
  if (multiple === undefined) throw bad();
  if ((suffix.length === 2 && suffix[1] !== 'b') || (suffix.length === 3 && suffix.slice(1) !== 'ib')) throw bad();
  return Math.trunc(size * multiple);
}

/** `--cpus`: a rational number of CPUs as nano-CPUs (docker's opts.NanoCPUs). */
export function nanoCpus(text: string): number {
  const fraction = /^([+-]?\d+)\/(\d+)$/.exec(text);
  let numerator: bigint;
  let denominator: bigint;
  if (fraction) {
    numerator = BigInt(fraction[1]!);
    denominator = BigInt(fraction[2]!);
    if (denominator === 0n) throw new Error(`failed to parse ${text} as a rational number`);
  } else {
    const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
    if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(`failed to parse ${text} as a rational number`);
    const digits = `${m[2]}${m[3] ?? ''}`;
    let scale = (m[3] ?? '').length - Number(m[4] ?? '0');
    numerator = BigInt(`${m[1]}${digits === '' ? '0' : digits}`);
    if (scale < 0) {
      numerator *= 10n ** BigInt(-scale);
      scale = 0;
    }
    denominator = 10n ** BigInt(scale);
  }
  const nano = numerator * 1_000_000_000n;
  if (nano % denominator !== 0n) throw new Error('value is too precise');
  return Number(nano / denominator);
}

/** pflag's int/int64 (strconv.ParseInt with base 0: `10`, `0x1f`, `0o17`, `-1`). */
export function goInt(text: string): number {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+|\d[\d_]*)$/.exec(text);
  if (!m) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`);
  const body = m[2]!.replace(/_/g, '');
  let value: bigint;
  if (/^0[xXbBoO]/.test(body)) value = BigInt(body.toLowerCase());
  else if (/^0[0-7]+$/.test(body)) value = BigInt(`0o${body.slice(1)}`);
  else value = BigInt(body);
  if (m[1] === '-') value = -value;
  if (value > 2n ** 63n - 1n || value < -(2n ** 63n)) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(text)}: value out of range`);
  return Number(value);
}

/** Wrap a checker as a commander parser: its message becomes the flag error. */
export function flagValue<T>(check: (text: string) => T): (text: string) => T {
  return (text) => {
    try {
      return check(text);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

/** A repeatable flag whose every value is checked. */
export function flagList(check: (text: string) => string): (text: string, previous: string[] | undefined) => string[] {
  const parse = flagValue(check);
  return (text, previous) => [...(previous ?? []), parse(text)];
}

export interface RestartPolicy {
  Name: string;
  MaximumRetryCount: number;
}

/** docker's ParseRestartPolicy (the daemon checks the name itself). */
export function restartPolicy(text: string): RestartPolicy {
  if (text === '') return { Name: '', MaximumRetryCount: 0 };
  const colon = text.indexOf(':');
  const name = colon < 0 ? text : text.slice(0, colon);
  const count = colon < 0 ? '' : text.slice(colon + 1);
  if (colon >= 0 && name === '') throw new CliError('invalid restart policy format: no policy provided before colon');
  let retries = 0;
  if (count !== '') {
    if (!/^[+-]?\d+$/.test(count)) throw new CliError('invalid restart policy format: maximum retry count must be an integer');
    retries = Number(count);
  }
  return { Name: name, MaximumRetryCount: retries };
}

/** `-e NAME=value`, or `-e NAME` taking NAME's value from the CLI's environment when it has one. */
export function environmentEntry(env: NodeJS.ProcessEnv): (text: string) => string {
  return (text) => {
    const eq = text.indexOf('=');
    const name = eq < 0 ? text : text.slice(0, eq);
    if (name === '') throw new Error(`invalid environment variable: ${text}`);
    if (eq >= 0) return text;
    const value = env[name];
    return value === undefined ? text : `${name}=${value}`;
  };
}

/** `-a stdin|stdout|stderr` (any case). */
export function attachStream(text: string): string {
  const lower = text.toLowerCase();
  if (lower !== 'stdin' && lower !== 'stdout' && lower !== 'stderr') throw new Error('valid streams are STDIN, STDOUT and STDERR');
  return lower;
}

export type PullPolicy = 'always' | 'missing' | 'never';

export function pullPolicy(text: string): PullPolicy {
  if (text === 'always' || text === 'missing' || text === 'never') return text;
  throw new CliError(`invalid pull option: '${text}': must be one of "always", "missing" or "never"`);
}

/**
 * `KEY=VALUE` flags (labels, driver options, sysctls) as a map; a bare `KEY` maps to ''. With
 * `what`, an entry with an empty key is refused as docker's run refuses it (`invalid label: =x`).
 */
export function keyValueMap(entries: string[] | undefined, what?: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const entry of entries ?? []) {
    const eq = entry.indexOf('=');
    if (eq === 0 && what !== undefined) throw new CliError(`invalid ${what}: ${entry}`);
    if (eq < 0) map[entry] = '';
    else map[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return map;
}
