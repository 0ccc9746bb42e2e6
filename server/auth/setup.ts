import { join, resolve } from 'node:path';
import { isNotFound } from '../../shared/errors.js';
import type { StorageBackend } from '../../shared/storage-backend.js';
import { FilesystemBackend } from '../../storage-backends/filesystem.js';
import { TsdError } from '../../shared/errors.js';
import type { Logger } from '../log.js';
import { AnonymousAccess, BasicAccess, TokenAccess, type AccessController } from './controller.js';
import { Htpasswd } from './htpasswd.js';
import { fileKeyStore, keysFromCertificateBundle, keysFromJwks, loadOrCreateSigningKey, type KeyStore } from './keys.js';
import { AccessRules } from './rules.js';
import { TokenIssuer } from './token-issuer.js';
import { TokenServer } from './token-server.js';
import { TokenVerifier } from './token-verifier.js';

export interface AuthConfig {
  htpasswd?: { realm?: string; path?: string };
  token?: {
    realm?: string;
    service?: string;
    issuer?: string;
    rootcertbundle?: string;
    jwks?: string;
    htpasswd?: string;
    access?: unknown;
    groups?: Record<string, string[]>;
    expiration?: number;
    signingkey?: string;
  };
}

export interface Auth {
  controller: AccessController;
  /** The built-in token server and the path it answers on, when it is enabled. */
  tokenServer?: { path: string; server: TokenServer };
}

function required(value: string | undefined, key: string): string {
  if (typeof value !== 'string' || value === '') throw new TsdError('CONFIG_INVALID', `${key} is required`);
  return value;
}

const signingKeyPath = 'tsdocker/token-signing-key.pem';

/**
 * Without `signingkey`, the key lives with the data: a 0600 file beside the filesystem layout, or
 * an object in the bucket, so that every replica over the same storage signs with the same key.
 */
function defaultKeyStore(backend: StorageBackend): KeyStore {
  if (backend instanceof FilesystemBackend) return fileKeyStore(join(backend.rootDirectory, signingKeyPath));
  const read = () => backend.getContent(signingKeyPath).then((b) => b.toString('utf8'), (err) => (isNotFound(err) ? undefined : Promise.reject(err)));
  return {
    read,
    async create(pem) {
      await backend.putContent(signingKeyPath, Buffer.from(pem));
      return (await read()) ?? pem;
    },
  };
}

/** Build the access controller (and the token server) from distribution-style `auth` config. */
export async function setupAuth(auth: AuthConfig | undefined, backend: StorageBackend, log: Logger): Promise<Auth> {
  if (!auth || (auth.htpasswd === undefined && auth.token === undefined)) return { controller: new AnonymousAccess() };
  if (auth.htpasswd !== undefined && auth.token !== undefined) throw new TsdError('CONFIG_INVALID', 'configure one of auth.htpasswd and auth.token, not both');
  if (auth.htpasswd) {
    const users = new Htpasswd(resolve(required(auth.htpasswd.path, 'auth.htpasswd.path')), log);
    await users.load();
    return { controller: new BasicAccess(auth.htpasswd.realm ?? 'tsdocker-registry', users) };
  }
  const t = auth.token!;
  const realm = required(t.realm, 'auth.token.realm');
  const service = required(t.service, 'auth.token.service');
  const issuerName = required(t.issuer, 'auth.token.issuer');
  if (t.rootcertbundle || t.jwks) {
    const keys = [
      ...(t.rootcertbundle ? await keysFromCertificateBundle(resolve(t.rootcertbundle)) : []),
      ...(t.jwks ? await keysFromJwks(resolve(t.jwks)) : []),
    ];
    return { controller: new TokenAccess(realm, service, new TokenVerifier(keys, issuerName, service)) };
  }
  // No external keys: run the built-in token server with a key of its own.
  let rules: AccessRules;
  try {
    rules = new AccessRules(AccessRules.validate(t.access), t.groups ?? {});
  } catch (err) {
    throw new TsdError('CONFIG_INVALID', (err as Error).message);
  }
  const users = t.htpasswd ? new Htpasswd(resolve(t.htpasswd), log) : undefined;
  await users?.load();
  const signing = await loadOrCreateSigningKey(t.signingkey ? fileKeyStore(resolve(t.signingkey)) : defaultKeyStore(backend));
  const issuer = new TokenIssuer(signing, issuerName, service, t.expiration ?? 300);
  let path: string;
  try {
    path = new URL(realm).pathname;
  } catch {
    throw new TsdError('CONFIG_INVALID', `auth.token.realm "${realm}" is not a URL`);
  }
  if (path.startsWith('/v2/') || path === '/v2') throw new TsdError('CONFIG_INVALID', 'auth.token.realm must not be under /v2/');
  return {
    controller: new TokenAccess(realm, service, new TokenVerifier([signing.publicKey], issuerName, service)),
    tokenServer: { path, server: new TokenServer(users, rules, issuer, service, realm, log) },
  };
}
