/**
 * `docker login` / `docker logout`: check the credentials against the registry (GET /v2/ through
 * the auth layer, which fetches a token for Bearer registries), then store them where docker
 * would: the host's credential helper or `credsStore` if one is configured, else `auths` in
 * config.json as base64 `user:password`.
 */
import { TsdError } from '../../shared/errors.js';
import {
  credentialKey,
  dockerConfigPath,
  helperFor,
  readDockerConfig,
  runCredentialHelper,
  writeDockerConfig,
  type AuthEntry,
  type DockerConfigOptions,
} from './credentials.js';
import { createRegistryClient, type RegistryClientOptions } from './registry-client.js';

export interface LoginOptions {
  config?: DockerConfigOptions;
  /** Client options for the check (TLS, insecure hosts, timeouts); credentials are ignored. */
  client?: Omit<RegistryClientOptions, 'credentials'>;
}

/**
 * Check credentials against a registry without storing them (the daemon's `POST /auth`): throws
 * UNAUTHORIZED (status 401) when the registry refuses them.
 */
export async function verifyLogin(host: string, username: string, password: string, options: Pick<LoginOptions, 'client'> = {}): Promise<void> {
  if (username === '' || username.includes(':')) throw new TsdError('INVALID_ARGUMENT', 'the user name must be non-empty and have no ":"');
  if (password === '') throw new TsdError('INVALID_ARGUMENT', 'the password must not be empty');
  const client = createRegistryClient(host, { ...options.client, credentials: { username, password } });
  try {
    await client.ping();
  } catch (err) {
    if (err instanceof TsdError && (err.code === 'UNAUTHORIZED' || err.code === 'DENIED')) {
      throw new TsdError('UNAUTHORIZED', `login to ${host} as "${username}" failed: ${err.message}`, { cause: err, status: 401 });
    }
    throw err;
  } finally {
    client.close();
  }
}

export async function login(host: string, username: string, password: string, options: LoginOptions = {}): Promise<{ stored: 'file' | 'helper' }> {
  await verifyLogin(host, username, password, options);
  const { stored } = await storeCredentials(host, { username, password }, options.config);
  return { stored };
}

/**
 * Keep a host's credentials where docker would: its credential helper (or `credsStore`), with an
 * empty entry left in `auths`; else `auths[key].auth` = base64 `user:password`, plus
 * `identitytoken` when the registry gave one (then the password is not kept).
 */
export async function storeCredentials(
  host: string,
  credentials: { username: string; password?: string; identityToken?: string },
  configOptions: DockerConfigOptions = {},
): Promise<{ stored: 'file' | 'helper'; path: string }> {
  const path = dockerConfigPath(configOptions);
  const config = await readDockerConfig(path);
  const key = credentialKey(host);
  const helper = helperFor(config, host);
  const { username, identityToken } = credentials;
  const password = identityToken ? '' : (credentials.password ?? '');
  if (helper !== undefined) {
    const secret = identityToken ? { Username: '<token>', Secret: identityToken } : { Username: username, Secret: password };
    await runCredentialHelper(helper, 'store', JSON.stringify({ ServerURL: key, ...secret }), {
      env: configOptions.env,
      timeoutMs: configOptions.helperTimeoutMs,
    });
    // docker keeps an empty entry in the file so that the host is listed.
    config.auths = { ...(config.auths ?? {}), [key]: {} };
    await writeDockerConfig(path, config);
    return { stored: 'helper', path };
  }
  const entry: AuthEntry = { auth: Buffer.from(`${username}:${password}`, 'utf8').toString('base64') };
  if (identityToken) entry.identitytoken = identityToken;
  config.auths = { ...(config.auths ?? {}), [key]: entry };
  await writeDockerConfig(path, config);
  return { stored: 'file', path };
}

/** Forget a host's credentials; true when there were any. */
export async function logout(host: string, options: { config?: DockerConfigOptions } = {}): Promise<boolean> {
  const path = dockerConfigPath(options.config);
  const config = await readDockerConfig(path);
  const key = credentialKey(host);
  let removed = false;
  const helper = helperFor(config, host);
  if (helper !== undefined) {
    try {
      await runCredentialHelper(helper, 'erase', key, { env: options.config?.env, timeoutMs: options.config?.helperTimeoutMs });
      removed = true;
    } catch {
      /* nothing stored there */
    }
  }
  if (config.auths && key in config.auths) {
    delete config.auths[key];
    removed = true;
    await writeDockerConfig(path, config);
  }
  return removed;
}
