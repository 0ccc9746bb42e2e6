import { TsdError } from '../../shared/errors.js';
import { isRepositoryName } from '../../shared/reference.js';
import { parseDuration } from '../duration.js';

/** One upstream registry, validated. */
export interface UpstreamConfig {
  /** Repository names `<prefix>/<path>` are served from this upstream as `<path>`; undefined: every name. */
  prefix: string | undefined;
  /** Names without a configured prefix go here (the single-upstream form is one default upstream). */
  isDefault: boolean;
  /** `http(s)://host[:port]` without a trailing slash. */
  remoteURL: URL;
  username: string | undefined;
  password: string | undefined;
  /** How long a tag lookup is trusted before it is revalidated upstream; 0 revalidates every time. */
  ttlMs: number;
  /** Connect + response headers limit for one upstream request. */
  timeoutMs: number;
  /** Longest pause while reading an upstream body before it is abandoned. */
  idleTimeoutMs: number;
  /** Docker Hub wants `library/x` for official images: add it to one-component names. */
  dockerHub: boolean;
}

export interface PullThroughConfig {
  upstreams: UpstreamConfig[];
}

export const defaultTtlMs = 5 * 60_000;
export const defaultTimeoutMs = 10_000;
export const defaultIdleTimeoutMs = 30_000;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(message: string): TsdError {
  return new TsdError('CONFIG_INVALID', message);
}

function optionalString(v: unknown, key: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string' && typeof v !== 'number') throw invalid(`${key} must be a string`);
  return String(v);
}

function parseUpstream(raw: Record<string, unknown>, where: string, prefixed: boolean): UpstreamConfig {
  const urlText = optionalString(raw.remoteurl, `${where}.remoteurl`);
  if (urlText === undefined) throw invalid(`${where}.remoteurl is required`);
  let remoteURL: URL;
  try {
    remoteURL = new URL(urlText);
  } catch {
    throw invalid(`${where}.remoteurl "${urlText}" is not a URL`);
  }
  if (remoteURL.protocol !== 'http:' && remoteURL.protocol !== 'https:') throw invalid(`${where}.remoteurl must be http:// or https://`);
  if (remoteURL.search || remoteURL.hash) throw invalid(`${where}.remoteurl must not have a query or fragment`);
  remoteURL.pathname = remoteURL.pathname.replace(/\/+$/, '');
  let prefix: string | undefined;
  if (prefixed) {
    prefix = optionalString(raw.prefix, `${where}.prefix`)?.replace(/^\/+|\/+$/g, '');
    if (prefix !== undefined && !isRepositoryName(prefix)) throw invalid(`${where}.prefix "${prefix}" must be a valid repository name prefix such as "ghcr.io"`);
  }
  const isDefault = prefixed ? raw.default === true : true;
  if (prefixed && prefix === undefined && !isDefault) throw invalid(`${where} needs a prefix or default: true`);
  const username = optionalString(raw.username, `${where}.username`);
  const password = optionalString(raw.password, `${where}.password`);
  if ((username === undefined) !== (password === undefined)) throw invalid(`${where}: username and password go together`);
  const host = remoteURL.hostname.toLowerCase();
  return {
    prefix,
    isDefault,
    remoteURL,
    username,
    password,
    ttlMs: raw.ttl === undefined ? defaultTtlMs : parseDuration(raw.ttl, `${where}.ttl`),
    timeoutMs: raw.timeout === undefined ? defaultTimeoutMs : parseDuration(raw.timeout, `${where}.timeout`),
    idleTimeoutMs: raw.idletimeout === undefined ? defaultIdleTimeoutMs : parseDuration(raw.idletimeout, `${where}.idletimeout`),
    dockerHub: host === 'registry-1.docker.io' || host === 'index.docker.io' || host === 'docker.io',
  };
}

/**
 * `proxy:` in either form: distribution's single upstream (`remoteurl`, `username`, `password`,
 * `ttl`), which mirrors every repository, or `upstreams:` with a `prefix` each and at most one
 * `default: true`.
 */
export function parsePullThroughConfig(raw: unknown): PullThroughConfig {
  if (!isObject(raw)) throw invalid('proxy must be a mapping');
  if (raw.upstreams !== undefined) {
    if (raw.remoteurl !== undefined) throw invalid('proxy: configure remoteurl or upstreams, not both');
    if (!Array.isArray(raw.upstreams) || raw.upstreams.length === 0) throw invalid('proxy.upstreams must be a non-empty list');
    const upstreams = raw.upstreams.map((u, i) => {
      if (!isObject(u)) throw invalid(`proxy.upstreams[${i}] must be a mapping`);
      return parseUpstream(u, `proxy.upstreams[${i}]`, true);
    });
    if (upstreams.filter((u) => u.isDefault).length > 1) throw invalid('proxy.upstreams: at most one upstream may be default: true');
    const prefixes = upstreams.map((u) => u.prefix).filter((p): p is string => p !== undefined);
    if (new Set(prefixes).size !== prefixes.length) throw invalid('proxy.upstreams: prefixes must be distinct');
    return { upstreams };
  }
  return { upstreams: [parseUpstream(raw, 'proxy', false)] };
}
