// Shared pieces of the authentication tests: a PKI made with openssl, htpasswd files, an HTTP(S)
// client that keeps the whole response, the token dance, and a snapshot of the data directory.
import assert from 'node:assert/strict';
import { createHash, randomBytes, type KeyObject } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import bcrypt from 'bcryptjs';
import { decodeJwt } from 'jose';
import { makeBlob, MediaTypes, randomBlob, rawAsResp, sha256, type Blob, type Resp } from '../helpers/oci-client.js';
import { run } from '../helpers/run.js';

// ---------------------------------------------------------------------------------------------
// PKI

export interface Pki {
  dir: string;
  /** CA certificate (PEM path) and its contents. */
  caCert: string;
  caKey: string;
  ca: string;
  /** Server certificate for 127.0.0.1 (IP SAN) and localhost, signed by the CA. */
  cert: string;
  key: string;
}

async function openssl(args: string[]): Promise<void> {
  await run('openssl', args, { timeoutMs: 30_000 });
}

/** A CA and a server certificate for 127.0.0.1 (IP SAN), both P-256, valid for two days. */
export async function makePki(dir: string): Promise<Pki> {
  const caKey = join(dir, 'ca.key');
  const caCert = join(dir, 'ca.crt');
  const key = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const cert = join(dir, 'server.crt');
  const ext = join(dir, 'server.ext');
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', caKey]);
  await openssl([
    'req', '-x509', '-new', '-key', caKey, '-sha256', '-days', '2', '-subj', '/CN=tsdocker test CA', '-out', caCert,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key]);
  await openssl(['req', '-new', '-key', key, '-subj', '/CN=127.0.0.1', '-out', csr]);
  await writeFile(
    ext,
    [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature,keyEncipherment',
      'extendedKeyUsage=serverAuth',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '',
    ].join('\n'),
  );
  await openssl(['x509', '-req', '-in', csr, '-CA', caCert, '-CAkey', caKey, '-CAcreateserial', '-days', '2', '-sha256', '-extfile', ext, '-out', cert]);
  return { dir, caCert, caKey, ca: await readFile(caCert, 'utf8'), cert, key };
}

/**
 * A token-signing key and a self-signed certificate for it (what `auth.token.rootcertbundle`
 * lists). `kind` `ec` is P-256 (ES256), `rsa` is 2048-bit (RS256).
 */
export async function makeSigningCert(dir: string, name: string, kind: 'ec' | 'rsa'): Promise<{ key: string; cert: string }> {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.crt`);
  const keyArgs = kind === 'ec' ? ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'];
  await openssl(['genpkey', ...keyArgs, '-out', key]);
  await openssl(['req', '-x509', '-new', '-key', key, '-sha256', '-days', '2', '-subj', `/CN=${name}`, '-out', cert]);
  return { key, cert };
}

/**
 * The key ID docker's token servers put in `kid` (libtrust): base32 of the first 30 bytes of the
 * SHA-256 of the DER SubjectPublicKeyInfo, in groups of four joined by `:`.
 */
export function libtrustKid(publicKey: KeyObject): string {
  const digest = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest().subarray(0, 30);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bitString = '';
  for (const byte of digest) bitString += byte.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i + 5 <= bitString.length; i += 5) out += alphabet[parseInt(bitString.slice(i, i + 5), 2)];
  return out.match(/.{4}/g)!.join(':');
}

// ---------------------------------------------------------------------------------------------
// Configuration

export const SERVICE = 'tsdocker';
export const ISSUER = 'tsdocker-test-issuer';

/**
 * `auth:` for the built-in token server with the test users' rules: alice owns team/*, bob and
 * anonymous pull anything, carol (group devs) pulls and pushes shared/*, alice reads the catalog.
 */
export function tokenAuthConfig(realmUrl: string, htpasswdPath: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    token: {
      realm: realmUrl,
      service: SERVICE,
      issuer: ISSUER,
      htpasswd: htpasswdPath,
      expiration: 120,
      groups: { devs: ['carol'] },
      access: [
        { repository: 'team/*', users: ['alice'], actions: ['pull', 'push', 'delete'] },
        { repository: '*', users: ['bob', 'anonymous'], actions: ['pull'] },
        { repository: 'shared/*', groups: ['devs'], actions: ['pull', 'push'] },
        { registry: 'catalog', users: ['alice'], actions: ['*'] },
      ],
      ...extra,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Users

/**
 * Write an htpasswd file of bcrypt `$2y$` entries, as `htpasswd -B` makes (whose default cost is
 * 5; `-C 10` gives 10).
 */
export async function writeHtpasswd(path: string, users: Record<string, string>, cost = 10): Promise<void> {
  const lines = Object.entries(users).map(([u, p]) => `${u}:${bcrypt.hashSync(p, cost).replace(/^\$2[ab]\$/, '$2y$')}`);
  await writeFile(path, `${lines.join('\n')}\n`, { mode: 0o600 });
}

/** Random passwords, so a log that leaks one is caught by a plain substring search. */
export function password(user: string): string {
  return `${user}-pw-${randomBytes(9).toString('base64url')}`;
}

export function basic(user: string, pw: string): string {
  return `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;
}

export function bearer(token: string): string {
  return `Bearer ${token}`;
}

// ---------------------------------------------------------------------------------------------
// HTTP

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** PEM CA to trust for https URLs. */
  ca?: string;
  timeoutMs?: number;
}

function toHeaders(raw: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

/** One request with node:http(s); the whole response as a Resp (so assertError and show work). */
export function http(url: string, options: HttpOptions = {}): Promise<Resp> {
  const method = options.method ?? 'GET';
  const u = new URL(url);
  const body = options.body === undefined ? undefined : Buffer.from(options.body);
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (body !== undefined && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-length')) headers['content-length'] = String(body.length);
  const send = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(u, { method, headers, ca: options.ca, agent: false, timeout: options.timeoutMs ?? 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () =>
        resolve(rawAsResp({ status: res.statusCode ?? 0, headers: toHeaders(res.headers), body: Buffer.concat(chunks), request: `${method} ${u.pathname}${u.search}` })),
      );
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url}: timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A client bound to a registry URL (and CA) with an optional default Authorization header. */
export class AuthClient {
  constructor(
    readonly base: string,
    readonly authorization?: string,
    readonly ca?: string,
  ) {}

  with(authorization: string | undefined): AuthClient {
    return new AuthClient(this.base, authorization, this.ca);
  }

  request(method: string, pathOrUrl: string, options: Omit<HttpOptions, 'method' | 'ca'> = {}): Promise<Resp> {
    const headers: Record<string, string> = {};
    if (this.authorization !== undefined) headers.authorization = this.authorization;
    Object.assign(headers, options.headers ?? {});
    return http(new URL(pathOrUrl, `${this.base}/`).toString(), { ...options, method, headers, ca: this.ca });
  }

  get(path: string, headers?: Record<string, string>): Promise<Resp> {
    return this.request('GET', path, { headers });
  }

  getManifest(name: string, ref: string): Promise<Resp> {
    return this.get(`/v2/${name}/manifests/${ref}`, { accept: [MediaTypes.ociManifest, MediaTypes.dockerManifest, MediaTypes.ociIndex].join(', ') });
  }

  /** `POST /v2/<name>/blobs/uploads/?digest=` with the blob: a one-request push. */
  pushBlob(name: string, blob: Blob): Promise<Resp> {
    return this.request('POST', `/v2/${name}/blobs/uploads/?digest=${blob.digest}`, {
      headers: { 'content-type': 'application/octet-stream' },
      body: blob.data,
    });
  }

  startUpload(name: string): Promise<Resp> {
    return this.request('POST', `/v2/${name}/blobs/uploads/`);
  }

  putManifest(name: string, ref: string, manifest: TinyImage['manifest']): Promise<Resp> {
    return this.request('PUT', `/v2/${name}/manifests/${ref}`, { headers: { 'content-type': manifest.mediaType }, body: manifest.bytes });
  }

  deleteManifest(name: string, ref: string): Promise<Resp> {
    return this.request('DELETE', `/v2/${name}/manifests/${ref}`);
  }

  /** Push every blob and the manifest of `image`, asserting each step. */
  async pushImage(name: string, tag: string, image: TinyImage): Promise<void> {
    for (const b of image.blobs) {
      const r = await this.pushBlob(name, b);
      assert.equal(r.status, 201, `push blob to ${name}: ${r.status} ${r.text()}`);
    }
    const m = await this.putManifest(name, tag, image.manifest);
    assert.equal(m.status, 201, `push manifest ${name}:${tag}: ${m.status} ${m.text()}`);
  }
}

export interface TinyImage {
  blobs: Blob[];
  manifest: { mediaType: string; bytes: Buffer; digest: string };
}

/** A small OCI image of random blobs (not pushed). */
export function tinyImage(): TinyImage {
  const layer = randomBlob(256);
  const config = makeBlob(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] }, nonce: randomBytes(6).toString('hex') }));
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      config: { mediaType: MediaTypes.ociConfig, digest: config.digest, size: config.size },
      layers: [{ mediaType: MediaTypes.ociLayer, digest: layer.digest, size: layer.size }],
    }),
  );
  return { blobs: [config, layer], manifest: { mediaType: MediaTypes.ociManifest, bytes, digest: sha256(bytes) } };
}

// ---------------------------------------------------------------------------------------------
// Challenges and tokens

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parse one `WWW-Authenticate` challenge (`Bearer realm="...",service="...",scope="..."`). */
export function parseChallenge(header: string | null | undefined): Challenge {
  assert.ok(header, 'no WWW-Authenticate header');
  const m = /^(\S+)\s+(.*)$/.exec(header.trim());
  assert.ok(m, `unparseable challenge ${header}`);
  const params: Record<string, string> = {};
  const re = /([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"\s*(?:,\s*|$)/g;
  let p: RegExpExecArray | null;
  let consumed = 0;
  while ((p = re.exec(m[2]!)) !== null) {
    params[p[1]!.toLowerCase()] = p[2]!.replace(/\\(.)/g, '$1');
    consumed = re.lastIndex;
  }
  assert.equal(consumed, m[2]!.length, `unparseable challenge parameters in ${header}`);
  return { scheme: m[1]!, params };
}

/** Assert a 401 whose challenge is Bearer with the given scope and (optionally) error. */
export function assertBearerChallenge(r: Resp, expected: { realm: string; service: string; scope?: string; error?: string | null }): Challenge {
  assert.equal(r.status, 401, `expected 401: ${r.request} -> ${r.status} ${r.text()}`);
  const c = parseChallenge(r.headers.get('www-authenticate'));
  assert.equal(c.scheme, 'Bearer', r.headers.get('www-authenticate') ?? '');
  assert.equal(c.params.realm, expected.realm);
  assert.equal(c.params.service, expected.service);
  if (expected.scope !== undefined) assert.equal(c.params.scope, expected.scope, `challenge scope for ${r.request}`);
  if (expected.error !== undefined) assert.equal(c.params.error, expected.error ?? undefined, `challenge error for ${r.request}: ${r.headers.get('www-authenticate')}`);
  return c;
}

export interface TokenResponse {
  status: number;
  token?: string;
  refreshToken?: string;
  body: any;
  resp: Resp;
}

/** `GET realm?service=&scope=...` with optional Basic credentials (docker's flow). */
export async function fetchToken(
  realm: string,
  options: { service?: string; scopes?: string[]; user?: string; password?: string; account?: string; offline?: boolean; ca?: string } = {},
): Promise<TokenResponse> {
  const u = new URL(realm);
  if (options.service !== undefined) u.searchParams.set('service', options.service);
  for (const s of options.scopes ?? []) u.searchParams.append('scope', s);
  if (options.account !== undefined) u.searchParams.set('account', options.account);
  if (options.offline) u.searchParams.set('offline_token', 'true');
  const headers: Record<string, string> = {};
  if (options.user !== undefined) headers.authorization = basic(options.user, options.password ?? '');
  const resp = await http(u.toString(), { headers, ca: options.ca });
  let body: any;
  try {
    body = JSON.parse(resp.text());
  } catch {
    body = undefined;
  }
  return { status: resp.status, token: body?.token ?? body?.access_token, refreshToken: body?.refresh_token, body, resp };
}

/** `POST realm` with an OAuth2 form (containerd's flow). */
export async function postToken(realm: string, form: Record<string, string>, ca?: string): Promise<TokenResponse> {
  const resp = await http(realm, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
    ca,
  });
  let body: any;
  try {
    body = JSON.parse(resp.text());
  } catch {
    body = undefined;
  }
  return { status: resp.status, token: body?.access_token, refreshToken: body?.refresh_token, body, resp };
}

/** A token the server must issue; asserts 200. */
export async function mustToken(realm: string, options: Parameters<typeof fetchToken>[1]): Promise<string> {
  const r = await fetchToken(realm, options);
  assert.equal(r.status, 200, `token request: ${r.resp.request} -> ${r.status} ${r.resp.text()}`);
  assert.equal(typeof r.token, 'string', `no token in ${r.resp.text()}`);
  return r.token!;
}

export interface AccessEntry {
  type: string;
  name: string;
  actions: string[];
}

/** The `access` claim of a token, sorted for comparison. */
export function accessOf(token: string): AccessEntry[] {
  const payload = decodeJwt(token) as { access?: AccessEntry[] };
  return (payload.access ?? [])
    .map((a) => ({ type: a.type, name: a.name, actions: [...a.actions].sort() }))
    .sort((a, b) => `${a.type}:${a.name}`.localeCompare(`${b.type}:${b.name}`));
}

// ---------------------------------------------------------------------------------------------
// Evidence that nothing was written

/** Every file under `dir` with its size (directories listed too), for before/after comparison. */
export async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string): Promise<void> {
    let entries;
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        out.push(`${relative(dir, p)}/`);
        await walk(p);
      } else {
        out.push(`${relative(dir, p)} ${(await stat(p)).size}`);
      }
    }
  }
  await walk(dir);
  return out.sort();
}

/** Assert the data directory holds exactly what it held before. */
export async function assertUnchanged(dir: string, before: string[], what: string): Promise<void> {
  const after = await snapshot(dir);
  const added = after.filter((x) => !before.includes(x));
  const removed = before.filter((x) => !after.includes(x));
  assert.deepEqual({ added, removed }, { added: [], removed: [] }, `${what} changed the data directory`);
}

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
