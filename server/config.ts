import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { TsdError } from '../shared/errors.js';
import { backendFactories, storageSettingKeys } from '../storage-backends/index.js';

/** The subset of distribution's configuration we read, with distribution's key names. */
export interface RegistryConfig {
  version?: string | number;
  log: { level: string; formatter?: string; accesslog?: { disabled?: boolean } };
  http: {
    addr: string;
    prefix?: string;
    host?: string;
    tls?: { certificate?: string; key?: string };
    draintimeout?: string;
  };
  storage: {
    filesystem?: { rootdirectory: string };
    delete: { enabled: boolean };
    maintenance?: { readonly?: { enabled?: boolean }; uploadpurging?: Record<string, unknown> };
    redirect?: { disable?: boolean };
    cache?: Record<string, unknown>;
    [driver: string]: unknown;
  };
  catalog?: { maxentries?: number };
  auth?: unknown;
  /** Pull-through cache (server/proxy/config.ts): `{remoteurl, ...}` or `{upstreams: [...]}`. */
  proxy?: unknown;
  gc?: unknown;
  [key: string]: unknown;
}

export const defaultConfig = (): RegistryConfig => ({
  version: '0.1',
  log: { level: 'info' },
  http: { addr: ':5000' },
  storage: { filesystem: { rootdirectory: './data' }, delete: { enabled: true } },
  catalog: { maxentries: 1000 },
});

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    out[k] = isObject(v) && isObject(out[k]) ? merge(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

/** A scalar from the environment, typed as YAML would type it (`true`, `5000`, strings). */
function envScalar(raw: string): unknown {
  try {
    const v: unknown = parse(raw);
    return v === null || isObject(v) || Array.isArray(v) ? raw : v;
  } catch {
    return raw;
  }
}

/**
 * Distribution's environment overrides: `REGISTRY_A_B_C=v` sets `a.b.c`. Keys are matched
 * case-insensitively against what the config already has, so `REGISTRY_STORAGE_S3_REGIONENDPOINT`
 * finds `storage.s3.regionendpoint`; a new key is created lower-cased.
 */
export function applyEnvironment(config: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = structuredClone(config);
  const keys = Object.keys(env).filter((k) => k.startsWith('REGISTRY_') && k.length > 'REGISTRY_'.length).sort();
  for (const key of keys) {
    const parts = key.slice('REGISTRY_'.length).toLowerCase().split('_');
    let node: Record<string, unknown> = out;
    for (let i = 0; i < parts.length - 1; i++) {
      const name = Object.keys(node).find((k) => k.toLowerCase() === parts[i]) ?? parts[i]!;
      if (!isObject(node[name])) node[name] = {};
      node = node[name] as Record<string, unknown>;
    }
    const last = parts[parts.length - 1]!;
    const name = Object.keys(node).find((k) => k.toLowerCase() === last) ?? last;
    node[name] = envScalar(env[key]!);
  }
  return out;
}

/** Read the YAML file (when given), apply the environment, fill defaults, and validate. */
export async function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<RegistryConfig> {
  let fromFile: Record<string, unknown> = {};
  if (path !== undefined) {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new TsdError('CONFIG_INVALID', `cannot read configuration ${path}: ${(err as Error).message}`);
    }
    let doc: unknown;
    try {
      doc = parse(text);
    } catch (err) {
      throw new TsdError('CONFIG_INVALID', `configuration ${path} is not valid YAML: ${(err as Error).message}`);
    }
    if (doc !== null && doc !== undefined && !isObject(doc)) throw new TsdError('CONFIG_INVALID', `configuration ${path} must be a YAML mapping`);
    fromFile = (doc as Record<string, unknown> | null) ?? {};
  }
  const configured = applyEnvironment(fromFile, env);
  const defaults = defaultConfig() as unknown as Record<string, unknown>;
  // A configured storage driver replaces the default filesystem one rather than merging with it.
  const storage = isObject(configured.storage) ? configured.storage : undefined;
  if (storage && Object.keys(storage).some((k) => !storageSettingKeys.has(k))) {
    delete (defaults.storage as Record<string, unknown>).filesystem;
  }
  return validate(merge(defaults, configured));
}

function validate(c: Record<string, unknown>): RegistryConfig {
  const config = c as unknown as RegistryConfig;
  if (!isObject(config.http) || typeof config.http.addr !== 'string') throw new TsdError('CONFIG_INVALID', 'http.addr must be a string such as ":5000"');
  parseListenAddress(config.http.addr);
  const storage = config.storage;
  if (!isObject(storage)) throw new TsdError('CONFIG_INVALID', 'storage must be a mapping');
  const drivers = storageDrivers(config);
  if (drivers.length !== 1) throw new TsdError('CONFIG_INVALID', `exactly one storage driver must be configured, found: ${drivers.join(', ') || 'none'}`);
  if (!backendFactories[drivers[0]!]) {
    throw new TsdError('CONFIG_INVALID', `storage driver "${drivers[0]}" is not supported (supported: ${Object.keys(backendFactories).join(', ')})`);
  }
  if (!isObject(storage[drivers[0]!])) throw new TsdError('CONFIG_INVALID', `storage.${drivers[0]} must be a mapping`);
  if (typeof storage.delete?.enabled !== 'boolean') storage.delete = { enabled: Boolean(storage.delete?.enabled) };
  const max = config.catalog?.maxentries;
  if (max !== undefined && (!Number.isSafeInteger(max) || max <= 0)) throw new TsdError('CONFIG_INVALID', 'catalog.maxentries must be a positive integer');
  return config;
}

/** `:5000`, `127.0.0.1:5000`, `[::1]:5000`, `0.0.0.0:5000` -> host and port for `listen`. */
export function parseListenAddress(addr: string): { host: string | undefined; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new TsdError('CONFIG_INVALID', `http.addr "${addr}" is not host:port`);
  const host = m[1] ?? (m[2] === '' ? undefined : m[2]);
  return { host, port };
}

export function storageDrivers(config: RegistryConfig): string[] {
  return Object.keys(config.storage).filter((k) => config.storage[k] !== undefined && config.storage[k] !== null && !storageSettingKeys.has(k));
}

/** The configured driver's name and options. */
export function storageDriver(config: RegistryConfig): { name: string; options: Record<string, unknown> } {
  const name = storageDrivers(config)[0]!;
  return { name, options: config.storage[name] as Record<string, unknown> };
}
