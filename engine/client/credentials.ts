/**
 * Credentials the way docker keeps them: `config.json` in `$DOCKER_CONFIG` or `~/.docker` with
 * `auths` (base64 `user:password` in `auth`, or an `identitytoken`), `credHelpers` (per host) and
 * `credsStore` (for every host), the last two through `docker-credential-NAME get|store|erase`
 * programs that speak JSON on stdin/stdout. Docker Hub's key is `https://index.docker.io/v1/`.
 */
import { spawn } from 'node:child_process';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { TsdError } from '../../shared/errors.js';
import type { CredentialSource, Credentials } from './auth.js';
import { isDockerHub } from './endpoint.js';

export const dockerHubAuthKey = 'https://index.docker.io/v1/';

export interface DockerConfigOptions {
  /** The config.json path; default `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`. */
  path?: string;
  /** Environment for `DOCKER_CONFIG`, `HOME` and the helpers' PATH (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Limit on one credential helper run (default 10 s). */
  helperTimeoutMs?: number;
}

export interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
  [key: string]: unknown;
}

export interface DockerConfigFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [key: string]: unknown;
}

export function dockerConfigPath(options: DockerConfigOptions = {}): string {
  if (options.path) return options.path;
  const env = options.env ?? process.env;
  const dir = env.DOCKER_CONFIG || join(env.HOME || homedir(), '.docker');
  return join(dir, 'config.json');
}

/** The key a host's credentials are stored under (and what helpers are told). */
export function credentialKey(host: string): string {
  return isDockerHub(host) ? dockerHubAuthKey : host;
}

/** docker's convertToHostname: `https://host:port/v1/` -> `host:port`. */
function keyHost(key: string): string {
  const stripped = key.replace(/^https?:\/\//i, '');
  return stripped.split('/', 1)[0]!.toLowerCase();
}

export async function readDockerConfig(path: string): Promise<DockerConfigFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new TsdError('CONFIG_INVALID', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as DockerConfigFile;
  } catch (err) {
    throw new TsdError('CONFIG_INVALID', `${path} is not a docker config: ${(err as Error).message}`, { cause: err });
  }
}

/** Write config.json as docker does: 0600, via a temporary file and a rename. */
export async function writeDockerConfig(path: string, config: DockerConfigFile): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

function authEntryFor(config: DockerConfigFile, host: string): AuthEntry | undefined {
  const auths = config.auths ?? {};
  const key = credentialKey(host);
  if (auths[key]) return auths[key];
  const wanted = isDockerHub(host) ? undefined : host.toLowerCase();
  for (const [k, entry] of Object.entries(auths)) {
    const h = keyHost(k);
    if (wanted === undefined ? isDockerHub(h) : h === wanted) return entry;
  }
  return undefined;
}

function decodeEntry(entry: AuthEntry, where: string): Credentials | undefined {
  const creds: Credentials = {};
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new TsdError('CONFIG_INVALID', `${where}: "auth" is not base64 of user:password`);
    creds.username = decoded.slice(0, colon);
    creds.password = decoded.slice(colon + 1);
  } else if (typeof entry.username === 'string') {
    creds.username = entry.username;
    if (typeof entry.password === 'string') creds.password = entry.password;
  }
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
    creds.identityToken = entry.identitytoken;
    delete creds.password;
  }
  if (typeof entry.registrytoken === 'string' && entry.registrytoken !== '') creds.registryToken = entry.registrytoken;
  return Object.keys(creds).length > 0 ? creds : undefined;
}

const helperName = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Run `docker-credential-NAME ACTION` with `input` on stdin; stdout, or undefined for "not found". */
export function runCredentialHelper(
  name: string,
  action: 'get' | 'store' | 'erase',
  input: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<string | undefined> {
  if (!helperName.test(name)) return Promise.reject(new TsdError('CONFIG_INVALID', `invalid credential helper name "${name.slice(0, 100)}"`));
  const program = `docker-credential-${name}`;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const child = spawn(program, [action], { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const limit = 1024 * 1024;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (d: Buffer) => {
      if (stdout.length < limit) stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 4096) stderr += d.toString('utf8');
    });
    child.stdin.on('error', () => {
      /* the helper may exit without reading */
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      reject(new TsdError('CONFIG_INVALID', missing ? `credential helper ${program} is not on PATH` : `credential helper ${program}: ${err.message}`, { cause: err }));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(new TsdError('CONFIG_INVALID', `credential helper ${program} ${action} took longer than ${timeoutMs} ms`));
        return;
      }
      if (code === 0) {
        resolve(stdout);
        return;
      }
      const said = `${stdout} ${stderr}`.trim();
      if (/credentials not found/i.test(said)) {
        resolve(undefined);
        return;
      }
      reject(new TsdError('CONFIG_INVALID', `credential helper ${program} ${action} failed (exit ${code}): ${said.slice(0, 300)}`));
    });
    child.stdin.end(input);
  });
}

/** The helper that holds a host's credentials, if any: its `credHelpers` entry, else `credsStore`. */
export function helperFor(config: DockerConfigFile, host: string): string | undefined {
  const helpers = config.credHelpers ?? {};
  const key = credentialKey(host);
  const own = helpers[key] ?? helpers[host] ?? Object.entries(helpers).find(([k]) => keyHost(k) === host.toLowerCase())?.[1];
  if (typeof own === 'string' && own !== '') return own;
  return typeof config.credsStore === 'string' && config.credsStore !== '' ? config.credsStore : undefined;
}

/** Look a host's credentials up in docker's config (helpers first, then `auths`). */
export async function dockerCredentials(host: string, options: DockerConfigOptions = {}): Promise<Credentials | undefined> {
  const path = dockerConfigPath(options);
  const config = await readDockerConfig(path);
  const helper = helperFor(config, host);
  if (helper !== undefined) {
    const out = await runCredentialHelper(helper, 'get', credentialKey(host), { env: options.env, timeoutMs: options.helperTimeoutMs });
    if (out !== undefined) {
      let parsed: { Username?: unknown; Secret?: unknown };
      try {
        parsed = JSON.parse(out) as typeof parsed;
      } catch {
        throw new TsdError('CONFIG_INVALID', `credential helper docker-credential-${helper} printed something that is not JSON`);
      }
      const username = typeof parsed.Username === 'string' ? parsed.Username : '';
      const secret = typeof parsed.Secret === 'string' ? parsed.Secret : '';
      if (secret === '') return undefined;
      return username === '<token>' ? { identityToken: secret } : { username, password: secret };
    }
    // Not found in the helper: fall back to the file, where docker keeps empty entries.
  }
  const entry = authEntryFor(config, host);
  return entry ? decodeEntry(entry, `${path} auths["${credentialKey(host)}"]`) : undefined;
}

/** A CredentialSource over docker's config, for the registry client. */
export function dockerConfigCredentials(options: DockerConfigOptions = {}): CredentialSource {
  return (host) => dockerCredentials(host, options);
}

/** Fixed credentials for every host. */
export function staticCredentials(credentials: Credentials): CredentialSource {
  return async () => credentials;
}
