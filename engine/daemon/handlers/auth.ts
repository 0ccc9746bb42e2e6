/**
 * `POST /auth` (`docker login`): check the credentials against the registry, store nothing (the
 * CLI keeps them). dockerd's answers: `{"Status":"Login Succeeded","IdentityToken":""}`, or 401
 * `login attempt to <registry>/v2/ failed with status: 401 Unauthorized`.
 */
import { TsdError, isTsdError } from '../../../shared/errors.js';
import { registryBaseURL } from '../../client/endpoint.js';
import { verifyLogin } from '../../client/login.js';
import type { DaemonContext } from '../daemon-context.js';
import { credentialsOf, parseAuthConfig, registryHostOf } from '../registry-auth.js';
import { readJSON, type ApiRequest } from '../request.js';
import { sendJSON } from '../respond.js';

export async function auth(daemon: DaemonContext, { req, res, log }: ApiRequest): Promise<void> {
  const config = parseAuthConfig(await readJSON(req, 64 * 1024), 'invalid auth configuration');
  const host = registryHostOf(config.serveraddress);
  const credentials = credentialsOf(config);
  if (!credentials?.username || !credentials.password) {
    throw new TsdError('INVALID_ARGUMENT', 'username and password are required (token logins are not supported)');
  }
  const insecure = daemon.config.insecureRegistries;
  try {
    await verifyLogin(host, credentials.username, credentials.password, { client: { insecure } });
  } catch (err) {
    if (isTsdError(err, 'UNAUTHORIZED') || isTsdError(err, 'DENIED')) {
      log.info({ registry: host, username: credentials.username }, 'login refused');
      const url = new URL('v2/', registryBaseURL(host, { insecure })).href;
      throw new TsdError('UNAUTHORIZED', `login attempt to ${url} failed with status: 401 Unauthorized`, { cause: err, status: 401 });
    }
    throw err;
  }
  sendJSON(res, 200, { Status: 'Login Succeeded', IdentityToken: '' });
}
