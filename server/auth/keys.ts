import { createHash, createPublicKey, KeyObject, X509Certificate, webcrypto } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { exportPKCS8, generateKeyPair, importJWK, importPKCS8, type JWK } from 'jose';
import { TsdError } from '../../shared/errors.js';

export interface VerificationKey {
  key: KeyObject;
  /** libtrust-style key ID (what distribution and docker's token servers put in `kid`). */
  kid: string;
  /** `EC` or `RSA`: which JWS algorithms the key can check. */
  kind: string;
}

/**
 * The key ID docker's token ecosystem uses: base32 of the first 240 bits of the SHA-256 of the
 * DER public key, in 12 groups of 4 separated by `:`.
 */
export function libtrustKeyId(key: KeyObject): string {
  const der = key.export({ type: 'spki', format: 'der' });
  const digest = createHash('sha256').update(der).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of digest) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  return out.match(/.{4}/g)!.join(':');
}

function verificationKey(key: KeyObject): VerificationKey {
  const kind = key.asymmetricKeyType === 'ec' ? 'EC' : key.asymmetricKeyType === 'rsa' ? 'RSA' : '';
  if (!kind) throw new TsdError('CONFIG_INVALID', `unsupported token key type ${key.asymmetricKeyType}`);
  return { key, kid: libtrustKeyId(key), kind };
}

/** Public keys from a PEM bundle of certificates (`auth.token.rootcertbundle`). */
export async function keysFromCertificateBundle(path: string): Promise<VerificationKey[]> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw new TsdError('CONFIG_INVALID', `cannot read auth.token.rootcertbundle ${path}: ${(err as Error).message}`);
  }
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new TsdError('CONFIG_INVALID', `no certificates in ${path}`);
  return blocks.map((b) => verificationKey(new X509Certificate(b).publicKey));
}

/** Public keys from a JWKS file (`auth.token.jwks`). */
export async function keysFromJwks(path: string): Promise<VerificationKey[]> {
  let doc: { keys?: JWK[] };
  try {
    doc = JSON.parse(await readFile(path, 'utf8')) as { keys?: JWK[] };
  } catch (err) {
    throw new TsdError('CONFIG_INVALID', `cannot read auth.token.jwks ${path}: ${(err as Error).message}`);
  }
  const keys: VerificationKey[] = [];
  for (const jwk of doc.keys ?? []) {
    if (jwk.kty !== 'EC' && jwk.kty !== 'RSA') continue;
    const { d: _private, ...publicJwk } = jwk;
    const imported = await importJWK(publicJwk, jwk.alg ?? (jwk.kty === 'EC' ? 'ES256' : 'RS256'));
    if (imported instanceof Uint8Array) continue;
    const key = toKeyObject(imported);
    const v = verificationKey(key);
    keys.push(jwk.kid ? { ...v, kid: jwk.kid } : v);
  }
  if (keys.length === 0) throw new TsdError('CONFIG_INVALID', `no usable keys in ${path}`);
  return keys;
}

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: VerificationKey;
  alg: 'ES256';
}

/** Where the built-in token server keeps its PEM private key. */
export interface KeyStore {
  read(): Promise<string | undefined>;
  /** Store a new key unless one exists; returns the key that is stored (a replica may have won). */
  create(pem: string): Promise<string>;
}

/** A PEM file readable only by the owner; `wx` so that concurrent first starts agree on one key. */
export function fileKeyStore(path: string): KeyStore {
  return {
    async read() {
      try {
        return await readFile(path, 'utf8');
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') return undefined;
        throw new TsdError('CONFIG_INVALID', `cannot read token signing key ${path}: ${(err as Error).message}`);
      }
    },
    async create(pem) {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      try {
        await writeFile(path, pem, { mode: 0o600, flag: 'wx' });
        await chmod(path, 0o600);
        return pem;
      } catch (err) {
        if ((err as { code?: string }).code !== 'EEXIST') throw err;
        return readFile(path, 'utf8');
      }
    },
  };
}

/** The built-in token server's key: loaded from the store, or generated (P-256) and saved there. */
export async function loadOrCreateSigningKey(store: KeyStore): Promise<SigningKey> {
  let pem = await store.read();
  if (pem === undefined) {
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    pem = await store.create(await exportPKCS8(privateKey));
  }
  const privateKey = toKeyObject(await importPKCS8(pem, 'ES256', { extractable: true }));
  return { privateKey, publicKey: verificationKey(createPublicKey(privateKey)), alg: 'ES256' };
}

/** jose returns WebCrypto keys; node:crypto wants KeyObjects. */
function toKeyObject(key: webcrypto.CryptoKey | KeyObject): KeyObject {
  return key instanceof KeyObject ? key : KeyObject.from(key);
}
