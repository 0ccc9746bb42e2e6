import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { LRUCache } from 'lru-cache';
import { TsdError } from '../../shared/errors.js';
import type { Logger } from '../log.js';
import type { UpstreamConfig } from './config.js';

/** Why an upstream could not answer: the mirror then serves what it has, or says this. */
export class UpstreamError extends Error {
  constructor(
    readonly kind: 'unavailable' | 'toomanyrequests' | 'denied',
    message: string,
    readonly retryAfter?: string,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }

  /** The OCI error a client gets when nothing is cached. */
  toTsdError(): TsdError {
    if (this.kind === 'toomanyrequests') {
      return new TsdError('TOOMANYREQUESTS', `upstream registry: ${this.message}`, this.retryAfter ? { headers: { 'Retry-After': this.retryAfter } } : undefined);
    }
    if (this.kind === 'denied') return new TsdError('UNAVAILABLE', `upstream registry refused access: ${this.message}`);
    return new TsdError('UNAVAILABLE', `upstream registry unavailable: ${this.message}`);
  }
}

export interface UpstreamResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Must be consumed or destroyed by the caller. */
  body: IncomingMessage;
}

export interface UpstreamRequestOptions {
  /** The token scope, e.g. `repository:library/busybox:pull`. */
  scope: string;
  accept?: string;
  /** Follow 30x (registries redirect blob GETs to storage); credentials go only to the same origin. */
  followRedirects?: boolean;
}

interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** `Bearer realm="...",service="...",scope="..."` (or `Basic realm="..."`). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/g;
  let p: RegExpExecArray | null;
  while ((p = re.exec(m[2]!)) !== null) {
    if (p[0] === '') break;
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  }
  return { scheme: m[1]!.toLowerCase(), params };
}

const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const maxTokenResponseBytes = 1024 * 1024;

export async function readAll(body: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      body.destroy();
      throw new UpstreamError('unavailable', `response exceeds ${limit} bytes`);
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, size);
}

/** Discard a body we do not need, keeping the connection reusable when it is small. */
function discard(body: IncomingMessage): void {
  const length = Number(body.headers['content-length'] ?? NaN);
  if (Number.isFinite(length) && length <= 64 * 1024) body.resume();
  else body.destroy();
}

/**
 * An HTTP client for one upstream registry: anonymous, Basic, or the Docker token flow (401 with
 * `WWW-Authenticate: Bearer` -> GET realm, with Basic credentials when configured -> a token,
 * reused per scope until it expires). Timeouts on connect + headers and on an idle body.
 */
export class UpstreamClient {
  private readonly agent: HttpAgent;
  private readonly tokens = new LRUCache<string, { token: string; expiresAt: number }>({ max: 10_000 });
  private readonly tokenFlights = new Map<string, Promise<string>>();
  /** The upstream answered with a Basic challenge: send credentials up front from then on. */
  private basic = false;
  /** Requests sent (token requests included): a counter for metrics. */
  requests = 0;

  constructor(
    readonly config: UpstreamConfig,
    private readonly log: Logger,
  ) {
    const options = { keepAlive: true, maxSockets: 64, maxFreeSockets: 16, scheduling: 'lifo' as const };
    this.agent = config.remoteURL.protocol === 'https:' ? new HttpsAgent(options) : new HttpAgent(options);
  }

  close(): void {
    this.agent.destroy();
  }

  private basicHeader(): string | undefined {
    const { username, password } = this.config;
    if (username === undefined) return undefined;
    return `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
  }

  private cachedAuthorization(scope: string): string | undefined {
    const t = this.tokens.get(scope);
    if (t && t.expiresAt > Date.now()) return `Bearer ${t.token}`;
    if (t) this.tokens.delete(scope);
    if (this.basic) return this.basicHeader();
    return undefined;
  }

  /** One request to `path` (relative to the remote URL), authenticating as the upstream asks. */
  async request(method: 'GET' | 'HEAD', path: string, options: UpstreamRequestOptions): Promise<UpstreamResponse> {
    const base = this.config.remoteURL;
    let url = new URL(base.pathname.replace(/\/+$/, '') + path, base.origin);
    const headers: Record<string, string> = { 'user-agent': 'tsdocker-registry (pull-through cache)' };
    if (options.accept) headers.accept = options.accept;
    let authorization = this.cachedAuthorization(options.scope);
    let authRetried = false;
    let currentMethod: 'GET' | 'HEAD' = method;
    for (let hop = 0; ; ) {
      const sameOrigin = url.origin === base.origin;
      const res = await this.send(currentMethod, url, { ...headers, ...(authorization && sameOrigin ? { authorization } : {}) });
      if (res.status === 401 && sameOrigin && !authRetried) {
        authRetried = true;
        const challenge = parseChallenge(res.headers['www-authenticate'] as string | undefined);
        discard(res.body);
        if (challenge?.scheme === 'bearer' && challenge.params.realm) {
          this.tokens.delete(options.scope);
          authorization = `Bearer ${await this.token(challenge, options.scope)}`;
          continue;
        }
        if (challenge?.scheme === 'basic' && this.basicHeader()) {
          this.basic = true;
          authorization = this.basicHeader();
          continue;
        }
        throw new UpstreamError('denied', `${method} ${url.pathname}: 401 and no usable challenge`);
      }
      if (options.followRedirects && redirectStatuses.has(res.status) && res.headers.location) {
        discard(res.body);
        if (++hop > 5) throw new UpstreamError('unavailable', `${method} ${path}: too many redirects`);
        url = new URL(res.headers.location, url);
        if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UpstreamError('unavailable', 'redirect to a non-HTTP URL');
        if (res.status === 303) currentMethod = 'GET';
        continue;
      }
      return res;
    }
  }

  private send(method: string, url: URL, headers: Record<string, string>): Promise<UpstreamResponse> {
    this.requests++;
    const https = url.protocol === 'https:';
    const sameOrigin = url.origin === this.config.remoteURL.origin;
    const send = https ? httpsRequest : httpRequest;
    const agent = sameOrigin ? this.agent : undefined;
    return new Promise<UpstreamResponse>((resolve, reject) => {
      const req = send(url, { method, headers, agent }, (res) => {
        clearTimeout(timer);
        // From here the body may stall: abandon it after the idle limit.
        req.setTimeout(this.config.idleTimeoutMs, () => req.destroy(new UpstreamError('unavailable', `${method} ${url.pathname}: body stalled`)));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      const timer = setTimeout(() => {
        req.destroy(new UpstreamError('unavailable', `${method} ${url.host}${url.pathname}: no response within ${this.config.timeoutMs} ms`));
      }, this.config.timeoutMs);
      req.once('error', (err) => {
        clearTimeout(timer);
        reject(err instanceof UpstreamError ? err : new UpstreamError('unavailable', `${method} ${url.host}${url.pathname}: ${(err as Error).message}`));
      });
      req.end();
    });
  }

  /** A token for `scope` from the challenge's realm (one request per scope at a time). */
  private token(challenge: Challenge, scope: string): Promise<string> {
    const running = this.tokenFlights.get(scope);
    if (running) return running;
    const flight = this.fetchToken(challenge, scope).finally(() => this.tokenFlights.delete(scope));
    this.tokenFlights.set(scope, flight);
    return flight;
  }

  private async fetchToken(challenge: Challenge, scope: string): Promise<string> {
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm!);
    } catch {
      throw new UpstreamError('denied', `invalid token realm "${challenge.params.realm?.slice(0, 100)}"`);
    }
    if (realm.protocol !== 'http:' && realm.protocol !== 'https:') throw new UpstreamError('denied', 'token realm is not http(s)');
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    for (const s of (challenge.params.scope ?? scope).split(' ').filter(Boolean)) realm.searchParams.append('scope', s);
    const headers: Record<string, string> = { 'user-agent': 'tsdocker-registry (pull-through cache)', accept: 'application/json' };
    const basic = this.basicHeader();
    if (basic) headers.authorization = basic;
    if (this.config.username) realm.searchParams.set('account', this.config.username);
    const res = await this.send('GET', realm, headers);
    if (res.status !== 200) {
      discard(res.body);
      if (res.status === 429) throw new UpstreamError('toomanyrequests', 'token server: 429', res.headers['retry-after'] as string | undefined);
      if (res.status >= 500) throw new UpstreamError('unavailable', `token server answered ${res.status}`);
      throw new UpstreamError('denied', `token server answered ${res.status}`);
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse((await readAll(res.body, maxTokenResponseBytes)).toString('utf8')) as typeof body;
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      throw new UpstreamError('denied', 'token server answered with invalid JSON');
    }
    const token = typeof body.token === 'string' && body.token ? body.token : typeof body.access_token === 'string' ? body.access_token : '';
    if (!token) throw new UpstreamError('denied', 'token server answered without a token');
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 60;
    // Renew a little early so a token never expires between our check and the upstream's.
    const margin = Math.min(30, expiresIn / 4);
    this.tokens.set(scope, { token, expiresAt: Date.now() + (expiresIn - margin) * 1000 });
    this.log.debug({ upstream: this.config.remoteURL.origin, scope, expiresIn }, 'pull-through: upstream token');
    return token;
  }
}

/** The failure an unsuccessful upstream status means (not 2xx, not 404). */
export function failureOf(res: UpstreamResponse, what: string): UpstreamError {
  discard(res.body);
  if (res.status === 429) return new UpstreamError('toomanyrequests', `${what}: 429`, res.headers['retry-after'] as string | undefined);
  if (res.status === 401 || res.status === 403) return new UpstreamError('denied', `${what}: ${res.status}`);
  return new UpstreamError('unavailable', `${what}: ${res.status}`);
}

export { discard as discardBody };
