/**
 * docker's `filters` query parameter: a JSON object of key -> values, in the current form
 * (`{"dangling":{"true":true}}`) or the old one (`{"dangling":["true"]}`). Keys are checked
 * against what the endpoint knows, with dockerd's error wording.
 */
import { badParameter } from './errors.js';

export type Filters = Map<string, string[]>;

export function parseFilters(raw: string | null, accepted: readonly string[]): Filters {
  const out: Filters = new Map();
  if (raw === null || raw.trim() === '') return out;
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw badParameter(`invalid filter: ${raw.slice(0, 200)} is not JSON`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw badParameter('invalid filter: expected a JSON object');
  for (const [key, value] of Object.entries(doc as Record<string, unknown>)) {
    let values: string[];
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) values = value as string[];
    else if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      values = Object.entries(value as Record<string, unknown>).filter(([, on]) => on === true).map(([v]) => v);
    } else throw badParameter(`invalid filter '${key}': values must be a list or a map of strings`);
    if (!accepted.includes(key)) throw badParameter(`Invalid filter '${key}'`);
    if (values.length > 0) out.set(key, values);
  }
  return out;
}

/**
 * A boolean filter (`dangling`), read as dockerd does: any value equal to `first` ("true"/"1" or
 * "false"/"0") wins, then the other; undefined when absent; no boolean among the values is refused.
 */
export function boolFilter(filters: Filters, key: string, first: boolean = true): boolean | undefined {
  const values = filters.get(key);
  if (!values) return undefined;
  const has = (b: boolean) => values.some((v) => (b ? v === 'true' || v === '1' : v === 'false' || v === '0'));
  if (has(first)) return first;
  if (has(!first)) return !first;
  throw badParameter(`Invalid filter '${key}=[${values.join(' ')}]'`);
}

/** docker's label filter: every `key` or `key=value` given must match. */
export function labelsMatch(labels: Record<string, string> | null | undefined, wanted: string[] | undefined): boolean {
  if (!wanted) return true;
  const have = labels ?? {};
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) return Object.hasOwn(have, w);
    const key = w.slice(0, eq);
    return Object.hasOwn(have, key) && have[key] === w.slice(eq + 1);
  });
}

/** Go's path.Match as a regular expression: `*` and `?` never cross `/`, `[...]` classes, `\` escapes. */
export function globRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) out += `\\${pattern[++i]}`.replace(/^\\([A-Za-z0-9])$/, '$1');
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw badParameter(`invalid reference filter ${pattern}: syntax error in pattern`);
      let body = pattern.slice(i + 1, end);
      if (body.startsWith('^')) body = `^${body.slice(1)}`;
      out += `[${body.replace(/[\]\\]/g, '\\$&')}]`;
      i = end;
    } else out += c.replace(/[.+^${}()|/]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
