/**
 * `tsdocker login [-u USER] [-p PASS | --password-stdin] [SERVER]` and `tsdocker logout [SERVER]`,
 * docker's flow: the daemon checks the credentials (POST /auth; the registry itself when the
 * daemon is unreachable), then the CLI stores them in its own config (credential helper or
 * `auths` in config.json) under the registry's host name.
 */
import { credentialKey, dockerCredentials, dockerHubAuthKey } from '../../client/credentials.js';
import { logout, storeCredentials } from '../../client/login.js';
import { createRegistryClient } from '../../client/registry-client.js';
import { CliError } from '../cli-error.js';
import type { CommandSpec } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { readLine, readSecret } from '../prompt.js';

interface LoginOptions {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
}

interface AuthResponse {
  Status?: string;
  IdentityToken?: string;
}

/** docker's ConvertToHostname: `https://host:port/v2/` -> `host:port`. */
export function hostnameOf(address: string): string {
  return address.replace(/^https?:\/\//i, '').split('/', 1)[0]!;
}

/** The registry a login/logout argument names: Docker Hub when none (or `docker.io`). */
function registryOf(server: string | undefined): { host: string; key: string; isHub: boolean } {
  if (!server || server === 'docker.io' || server === dockerHubAuthKey) return { host: 'docker.io', key: dockerHubAuthKey, isHub: true };
  const host = hostnameOf(server);
  return { host, key: credentialKey(host), isHub: false };
}

async function readAll(ctx: CliContext): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.stdin as AsyncIterable<Buffer | string>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The daemon checks the credentials (POST /auth); when there is no daemon to ask, the CLI asks
 * the registry itself, as docker does.
 */
async function authenticate(ctx: CliContext, username: string, password: string, registry: { host: string; key: string }): Promise<AuthResponse> {
  try {
    return await ctx.api.json<AuthResponse>({ method: 'POST', path: '/auth', json: { username, password, serveraddress: registry.key } });
  } catch (err) {
    if (!(err instanceof CliError) || !err.connectionFailed) throw err;
  }
  const client = createRegistryClient(registry.host, { credentials: { username, password } });
  try {
    await client.ping();
  } finally {
    client.close();
  }
  return { Status: 'Login Succeeded' };
}

const unencryptedWarning = (path: string) =>
  `\nWARNING! Your credentials are stored unencrypted in '${path}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n`;

export const loginCommand: CommandSpec<LoginOptions> = {
  usage: '[OPTIONS] [SERVER]',
  description: 'Log in to a registry (Docker Hub when no server is given)',
  args: { max: 1 },
  options: (c) =>
    c
      .option('-p, --password <string>', 'Password or Personal Access Token (PAT)')
      .option('--password-stdin', 'Take the Password or Personal Access Token (PAT) from stdin')
      .option('-u, --username <string>', 'Username'),
  async run(ctx, [server], options) {
    let { username, password } = options;
    if (password !== undefined && options.passwordStdin) throw new CliError('conflicting options: cannot specify both --password and --password-stdin');
    if (options.passwordStdin) {
      if (!username) throw new CliError('the --password-stdin option requires --username to be set');
      password = (await readAll(ctx)).replace(/\n$/, '').replace(/\r$/, '');
    }
    if (options.password !== undefined) ctx.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
    const registry = registryOf(server);

    let response: AuthResponse | undefined;
    let reused = false;
    if (!username && !password) {
      // docker first tries what it already has for that registry.
      const stored = await dockerCredentials(registry.host, ctx.dockerConfig).catch(() => undefined);
      if (stored?.username && stored.password) {
        ctx.err(`Authenticating with existing credentials... [Username: ${stored.username}]\n`);
        ctx.err("\n Info -> To login with a different account, run 'tsdocker logout' followed by 'tsdocker login'\n\n\n");
        response = await authenticate(ctx, stored.username, stored.password, registry).catch((err: Error) => {
          ctx.err(`Login did not succeed, error: ${err.message}\n`);
          return undefined;
        });
        if (response) {
          username = stored.username;
          password = stored.password;
          reused = true;
        }
      }
    }
    if (!response) {
      if (!username || !password) {
        if (!ctx.stdinIsTerminal) throw new CliError('Error: Cannot perform an interactive login from a non TTY device');
        if (!username) {
          ctx.out('Username: ');
          username = (await readLine(ctx.stdin))?.trim() ?? '';
          if (username === '') throw new CliError('Error: Non-null Username Required');
        }
        if (!password) password = await readSecret(ctx, 'Password: ');
        if (password === '') throw new CliError('Error: Password Required');
      }
      response = await authenticate(ctx, username, password, registry);
    }
    const identityToken = response.IdentityToken || undefined;
    let where;
    try {
      where = await storeCredentials(registry.host, { username: username!, password, identityToken }, ctx.dockerConfig);
    } catch (err) {
      throw new CliError(`Error saving credentials: ${(err as Error).message}`, { cause: err });
    }
    if (where.stored === 'file' && !reused) ctx.err(unencryptedWarning(where.path));
    if (response.Status) ctx.out(`${response.Status}\n`);
  },
};

export const logoutCommand: CommandSpec = {
  usage: '[SERVER]',
  description: 'Log out from a registry (Docker Hub when no server is given)',
  args: { max: 1 },
  async run(ctx, [server]) {
    const registry = registryOf(server);
    ctx.out(`Removing login credentials for ${registry.key}\n`);
    // Older clients stored the address as typed; erase those spellings too, as docker does.
    const spellings = registry.isHub ? ['docker.io'] : [...new Set([server!, registry.host, `http://${registry.host}`, `https://${registry.host}`])];
    const failures: string[] = [];
    for (const spelling of spellings) {
      await logout(spelling, { config: ctx.dockerConfig }).catch((err: Error) => failures.push(`${spelling}: ${err.message}`));
    }
    if (failures.length === spellings.length) ctx.err(`WARNING: could not erase credentials:\n${failures.join('\n')}\n`);
  },
};
