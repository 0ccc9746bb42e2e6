/**
 * The `X-Registry-Auth` header the docker CLI sends with pull and push: the credentials its
 * config holds for the image's registry, as base64url (with padding) of the JSON AuthConfig
 * (`{username,password,serveraddress}` or `{identitytoken,...}`, empty fields left out).
 */
import type { Credentials } from '../client/auth.js';
import { credentialKey, dockerCredentials, type DockerConfigOptions } from '../client/credentials.js';

export interface AuthConfig {
  username?: string;
  password?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

/** What docker sends for a registry: `{}` when the config holds nothing for it. */
export function authConfigFor(registryHost: string, credentials: Credentials | undefined): AuthConfig {
  const config: AuthConfig = {};
  if (!credentials || Object.values(credentials).every((v) => !v)) return config;
  if (credentials?.username) config.username = credentials.username;
  if (credentials?.password && !credentials.identityToken) config.password = credentials.password;
  config.serveraddress = credentialKey(registryHost);
  if (credentials?.identityToken) config.identitytoken = credentials.identityToken;
  if (credentials?.registryToken) config.registrytoken = credentials.registryToken;
  return config;
}

/** Go's base64.URLEncoding: the URL alphabet, padding kept (dockerd's decoder expects it). */
export function encodeAuthConfig(config: AuthConfig): string {
  return Buffer.from(JSON.stringify(config), 'utf8').toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

export function decodeAuthConfig(header: string): AuthConfig {
  return JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8')) as AuthConfig;
}

/** The header value for an image on `registryHost`, from the docker config at `config`. */
export async function registryAuthHeader(registryHost: string, config: DockerConfigOptions): Promise<string> {
  return encodeAuthConfig(authConfigFor(registryHost, await dockerCredentials(registryHost, config)));
}
