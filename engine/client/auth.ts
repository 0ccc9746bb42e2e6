/**
 * Authentication as an interceptor. It acts only on requests to the registry's own origin; a
 * redirect to a storage host goes out bare. A 401 carries a challenge:
 * - `Basic`: send the credentials (when there are any) and remember to send them up front.
 * - `Bearer realm,service,scope`: get a token from the realm for the scopes the request needs plus
 *   the challenge's, then send it. Tokens are cached per realm+service and reused for any request
 *   whose scopes they cover, until shortly before they expire; concurrent requests share one fetch.
 *   Token requests are docker's GET with Basic credentials, or the OAuth2 POST when there is an
 *   identity (refresh) token or `oauth2` is asked for (falling back to GET on 404/405).
 * Each request is answered with at most one fresh authentication attempt: a second 401 is returned.
 */
import { TsdError } from '../../shared/errors.js';
import { parseChallenges, type Challenge } from './challenge.js';
import { discard, displayURL, readJSON, responseError, type Dispatch, type HttpRequest, type HttpResponse, type Interceptor } from './transport.js';

export interface Credentials {
  username?: string;
  password?: string;
  /** An OAuth2 refresh token (docker's `identitytoken`). */
  identityToken?: string;
  /** A bearer token to send as it is (docker's `registrytoken`). */
  registryToken?: string;
}

/** Credentials for a registry host (`127.0.0.1:5000`, `docker.io`), or undefined for anonymous. */
export type CredentialSource = (host: string) => Promise<Credentials | undefined>;

export interface AuthOptions {
  /** The registry's origin (`http://127.0.0.1:5000`); other origins are passed through untouched. */
  origin: string;
  /** The host name credentials are looked up by. */
  host: string;
  credentials?: CredentialSource;
  /** Use the OAuth2 password grant (and keep the refresh token it returns). */
  oauth2?: boolean;
  /** `client_id` for OAuth2 requests (default `tsdocker`). */
  clientId?: string;
  /** Seconds before expiry a token stops being used (default 10). */
  expiryMarginSeconds?: number;
}

interface Token {
  value: string;
  /** Epoch ms after which the token is not sent any more. */
  expiresAt: number;
  /** Scope atoms (`repository:a/b:pull`) asked for when it was issued. */
  scopes: Set<string>;
}

type Scheme = { kind: 'basic' } | { kind: 'bearer'; realm: string; service: string | undefined };

/** Split `repository:a/b:pull,push` into `repository:a/b:pull` and `repository:a/b:push`. */
export function scopeAtoms(scopes: Iterable<string>): Set<string> {
  const atoms = new Set<string>();
  for (const scope of scopes) {
    for (const part of scope.split(' ')) {
      if (part === '') continue;
      const cut = part.lastIndexOf(':');
      if (cut <= 0) {
        atoms.add(part);
        continue;
      }
      const resource = part.slice(0, cut);
      for (const action of part.slice(cut + 1).split(',')) if (action !== '') atoms.add(`${resource}:${action}`);
    }
  }
  return atoms;
}

/** Atoms back to scope strings, actions of one resource joined: `repository:a/b:pull,push`. */
export function formatScopes(atoms: Set<string>): string[] {
  const byResource = new Map<string, string[]>();
  for (const atom of [...atoms].sort()) {
    const cut = atom.lastIndexOf(':');
    const resource = atom.slice(0, cut);
    const list = byResource.get(resource) ?? [];
    list.push(atom.slice(cut + 1));
    byResource.set(resource, list);
  }
  return [...byResource].map(([resource, actions]) => `${resource}:${actions.join(',')}`);
}

function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

export class RegistryAuth {
  private scheme: Scheme | undefined;
  private tokens: Token[] = [];
  private readonly inflight = new Map<string, Promise<Token>>();
  private credentials: Promise<Credentials | undefined> | undefined;
  /** A refresh token learned from an OAuth2 password grant. */
  private refreshToken: string | undefined;
  /** Token requests made (for tests and metrics). */
  tokenRequests = 0;

  constructor(private readonly options: AuthOptions) {}

  readonly interceptor: Interceptor = (next) => async (request) => {
    if (request.url.origin !== this.options.origin || request.headers.authorization !== undefined) return next(request);
    const scopes = scopeAtoms(request.scopes ?? []);
    let sent = await this.authorization(next, scopes, request.signal);
    const res = await next(withAuthorization(request, sent?.header));
    if (res.status !== 401) return res;
    const challenges = parseChallenges(res.headers['www-authenticate']);
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (bearer) {
      this.scheme = { kind: 'bearer', realm: bearer.params.realm!, service: bearer.params.service };
      if (sent?.token) this.forget(sent.token);
      if (sent?.fresh) return res; // a token fetched for this very request was refused
      const wanted = new Set([...scopes, ...scopeAtoms([bearer.params.scope ?? ''])]);
      discard(res);
      const token = await this.token(next, wanted, request.signal, true);
      sent = { header: `Bearer ${token.value}`, token, fresh: true };
      return next(withAuthorization(request, sent.header));
    }
    if (basic) {
      this.scheme = { kind: 'basic' };
      const creds = await this.getCredentials();
      if (sent || creds?.username === undefined || creds.password === undefined) return res;
      discard(res);
      return next(withAuthorization(request, basicHeader(creds.username, creds.password)));
    }
    return res;
  };

  private getCredentials(): Promise<Credentials | undefined> {
    this.credentials ??= this.options.credentials ? this.options.credentials(this.options.host) : Promise.resolve(undefined);
    return this.credentials;
  }

  /** What to send before any challenge, from what earlier challenges taught us. */
  private async authorization(next: Dispatch, scopes: Set<string>, signal: AbortSignal | undefined): Promise<{ header: string; token?: Token; fresh: boolean } | undefined> {
    const scheme = this.scheme;
    if (!scheme) return undefined;
    if (scheme.kind === 'basic') {
      const creds = await this.getCredentials();
      if (creds?.username === undefined || creds.password === undefined) return undefined;
      return { header: basicHeader(creds.username, creds.password), fresh: false };
    }
    const cached = this.cached(scopes);
    if (cached) return { header: `Bearer ${cached.value}`, token: cached, fresh: false };
    const token = await this.token(next, scopes, signal, false);
    return { header: `Bearer ${token.value}`, token, fresh: true };
  }

  private cached(scopes: Set<string>): Token | undefined {
    const now = Date.now();
    this.tokens = this.tokens.filter((t) => t.expiresAt > now);
    return this.tokens.find((t) => [...scopes].every((s) => t.scopes.has(s)));
  }

  private forget(token: Token): void {
    this.tokens = this.tokens.filter((t) => t !== token);
  }

  /** A token covering `scopes`: from the cache unless `force`, else one fetch shared by all askers. */
  private async token(next: Dispatch, scopes: Set<string>, signal: AbortSignal | undefined, force: boolean): Promise<Token> {
    if (!force) {
      const cached = this.cached(scopes);
      if (cached) return cached;
    }
    const scheme = this.scheme;
    if (scheme?.kind !== 'bearer') throw new TsdError('UNAUTHORIZED', 'no bearer challenge to answer');
    const key = `${scheme.realm}\n${scheme.service ?? ''}\n${[...scopes].sort().join(' ')}`;
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.fetchToken(next, scheme, scopes, signal).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const token = await pending;
    if (!this.tokens.includes(token)) this.tokens.push(token);
    return token;
  }

  private async fetchToken(next: Dispatch, scheme: Extract<Scheme, { kind: 'bearer' }>, scopes: Set<string>, signal: AbortSignal | undefined): Promise<Token> {
    const creds = await this.getCredentials();
    const scopeList = formatScopes(scopes);
    if (creds?.registryToken) return { value: creds.registryToken, expiresAt: Number.POSITIVE_INFINITY, scopes };
    let realm: URL;
    try {
      realm = new URL(scheme.realm);
    } catch {
      throw new TsdError('UNAUTHORIZED', `the registry's token realm "${scheme.realm}" is not a URL`);
    }
    if (realm.protocol !== 'https:' && realm.protocol !== 'http:') throw new TsdError('UNAUTHORIZED', `unsupported token realm ${displayURL(realm)}`);
    const refresh = creds?.identityToken ?? this.refreshToken;
    const who = creds?.username !== undefined ? `user "${creds.username}"` : 'anonymous access';
    this.tokenRequests++;
    let res: HttpResponse | undefined;
    if (refresh !== undefined || (this.options.oauth2 && creds?.username !== undefined && creds.password !== undefined)) {
      const form = new URLSearchParams();
      if (refresh !== undefined) {
        form.set('grant_type', 'refresh_token');
        form.set('refresh_token', refresh);
      } else {
        form.set('grant_type', 'password');
        form.set('username', creds!.username!);
        form.set('password', creds!.password!);
        form.set('access_type', 'offline');
      }
      form.set('client_id', this.options.clientId ?? 'tsdocker');
      if (scheme.service !== undefined) form.set('service', scheme.service);
      if (scopeList.length > 0) form.set('scope', scopeList.join(' '));
      res = await next({
        method: 'POST',
        url: realm,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: Buffer.from(form.toString()),
        idempotent: true,
        signal,
      });
      if ((res.status === 404 || res.status === 405) && refresh === undefined) {
        discard(res);
        res = undefined; // no OAuth2 endpoint: docker's GET below
      }
    }
    if (!res) {
      const url = new URL(realm);
      if (scheme.service !== undefined) url.searchParams.set('service', scheme.service);
      for (const s of scopeList) url.searchParams.append('scope', s);
      const headers: Record<string, string> = { accept: 'application/json' };
      if (creds?.username !== undefined && creds.password !== undefined) {
        headers.authorization = basicHeader(creds.username, creds.password);
        url.searchParams.set('account', creds.username);
      }
      res = await next({ method: 'GET', url, headers, signal });
    }
    if (res.status === 401 || res.status === 403) {
      const err = await responseError(res, `token request to ${displayURL(realm)}`);
      throw new TsdError('UNAUTHORIZED', `authentication failed for ${who} at ${displayURL(realm)}: the token server answered ${res.status}`, { cause: err, status: 401 });
    }
    if (res.status !== 200) throw await responseError(res, `token request to ${displayURL(realm)}`);
    const body = await readJSON<{ token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown; refresh_token?: unknown }>(res, 1024 * 1024);
    const value = typeof body.token === 'string' && body.token !== '' ? body.token : typeof body.access_token === 'string' ? body.access_token : '';
    if (value === '') throw new TsdError('UNAUTHORIZED', `the token server at ${displayURL(realm)} returned no token`);
    if (typeof body.refresh_token === 'string' && body.refresh_token !== '' && creds?.identityToken === undefined) this.refreshToken = body.refresh_token;
    // Docker's rule: a lifetime under 60 s (or none) counts as 60 s.
    const lifetime = typeof body.expires_in === 'number' && body.expires_in >= 60 ? body.expires_in : 60;
    const issued = typeof body.issued_at === 'string' ? Date.parse(body.issued_at) : NaN;
    const start = Number.isNaN(issued) || issued > Date.now() ? Date.now() : issued;
    const margin = Math.min(this.options.expiryMarginSeconds ?? 10, lifetime / 2);
    return { value, expiresAt: start + (lifetime - margin) * 1000, scopes };
  }
}

function withAuthorization(request: HttpRequest, header: string | undefined): HttpRequest {
  if (header === undefined) return request;
  return { ...request, headers: { ...request.headers, authorization: header } };
}

export type { Challenge };
