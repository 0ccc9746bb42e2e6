/**
 * Registry credentials as the docker CLI sends them: the `X-Registry-Auth` header on pull and push
 * (base64url, or plain base64, of a JSON AuthConfig) and the body of `POST /auth`.
 */
import { TsdError } from '../../shared/errors.js';
import type { Credentials } from '../client/auth.js';
import { isDockerHub } from '../client/endpoint.js';
import { dockerHubDomain } from '../../shared/reference.js';

/** docker's AuthConfig (lower-case JSON keys). */
export interface AuthConfig {
  username?: string;
  password?: string;
  /** base64 `user:password`, as config.json stores it. */
  auth?: string;
  email?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** An AuthConfig as the registry client's Credentials (undefined when it carries none). */
export function credentialsOf(config: AuthConfig): Credentials | undefined {
  let username = str(config.username);
  let password = str(config.password);
  const auth = str(config.auth);
  if (!username && auth) {
    const decoded = Buffer.from(auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
  }
  const out: Credentials = {};
  if (username) out.username = username;
  if (password) out.password = password;
  const identityToken = str(config.identitytoken);
  const registryToken = str(config.registrytoken);
  if (identityToken) out.identityToken = identityToken;
  if (registryToken) out.registryToken = registryToken;
  return Object.keys(out).length > 0 ? out : undefined;
}

export function parseAuthConfig(doc: unknown, where: string): AuthConfig {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new TsdError('INVALID_ARGUMENT', `${where}: expected a JSON object`);
  const out: AuthConfig = {};
  for (const key of ['username', 'password', 'auth', 'email', 'serveraddress', 'identitytoken', 'registrytoken'] as const) {
    const v = (doc as Record<string, unknown>)[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw new TsdError('INVALID_ARGUMENT', `${where}: ${key} must be a string`);
    out[key] = v;
  }
  return out;
}

/** Decode `X-Registry-Auth`; an absent or empty header (or `{}`) means no credentials. */
export function decodeRegistryAuth(header: string | string[] | undefined): Credentials | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  // Buffer's base64 decoder takes both alphabets, with or without padding.
  const text = Buffer.from(value.trim(), 'base64').toString('utf8');
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new TsdError('INVALID_ARGUMENT', 'invalid X-Registry-Auth header: not base64-encoded JSON');
  }
  return credentialsOf(parseAuthConfig(doc, 'invalid X-Registry-Auth header'));
}

/**
 * The registry host a `serveraddress` names, as docker's ConvertToHostname: scheme and path
 * dropped; empty and Docker Hub's addresses (`https://index.docker.io/v1/`) are `docker.io`.
 */
export function registryHostOf(serverAddress: string | undefined): string {
  const raw = (serverAddress ?? '').trim();
  if (raw === '') return dockerHubDomain;
  const host = raw.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split('/', 1)[0]!.toLowerCase();
  if (host === '') throw new TsdError('INVALID_ARGUMENT', `invalid server address "${raw.slice(0, 200)}"`);
  return isDockerHub(host) ? dockerHubDomain : host;
}
