import type { IncomingMessage, ServerResponse } from 'node:http';
import { TsdError } from '../../shared/errors.js';
import { query, readBody, sendError, sendJSON } from '../http.js';
import type { Logger } from '../log.js';
import { formatScope, parseScopes, type Access } from './access.js';
import { parseBasic, type Htpasswd } from './htpasswd.js';
import type { AccessRules } from './rules.js';
import type { TokenIssuer } from './token-issuer.js';

const maxScopesPerToken = 64;

/**
 * The built-in token server: `GET` with Basic credentials (docker, podman, skopeo) and the OAuth2
 * `POST` form with `password` and `refresh_token` grants (containerd). Tokens grant the
 * intersection of what was asked and what the access rules allow.
 */
export class TokenServer {
  constructor(
    private readonly users: Htpasswd | undefined,
    private readonly rules: AccessRules,
    private readonly issuer: TokenIssuer,
    private readonly service: string,
    private readonly realm: string,
    private readonly log: Logger,
  ) {}

  handle(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader('Cache-Control', 'no-store');
    const run = req.method === 'GET' ? this.get(req, res) : req.method === 'POST' ? this.post(req, res) : Promise.reject(new TsdError('UNSUPPORTED', 'use GET or POST'));
    run.catch((err) => sendError(res, err instanceof TsdError ? err : new TsdError('UNKNOWN', 'token server error')));
  }

  private refused(user: string | undefined): TsdError {
    this.log.info({ user }, 'token request refused: authentication failed');
    return new TsdError('UNAUTHORIZED', 'authentication failed', {
      headers: { 'WWW-Authenticate': `Basic realm="${this.realm}",charset="UTF-8"` },
    });
  }

  private async login(user: string, password: string): Promise<string> {
    if (!this.users || !(await this.users.verify(user, password))) throw this.refused(user);
    return user;
  }

  private checkService(service: string | null): void {
    if (service !== null && service !== this.service) {
      throw new TsdError('INVALID_ARGUMENT', `this token server issues tokens for service "${this.service}"`);
    }
  }

  private async grant(user: string | undefined, requested: Access[]): Promise<{ access: Access[]; token: string; expiresIn: number; issuedAt: string }> {
    // Bounded so that every token issued fits the registry's token size limit.
    if (requested.length > maxScopesPerToken) throw new TsdError('DENIED', `at most ${maxScopesPerToken} scopes per token request`);
    const access = this.rules.grant(user, requested);
    const issued = await this.issuer.access(user ?? '', access);
    this.log.info({ user: user ?? 'anonymous', requested: requested.map(formatScope), granted: access.map(formatScope) }, 'token issued');
    return { access, token: issued.token, expiresIn: issued.expiresIn, issuedAt: issued.issuedAt };
  }

  private async get(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const q = query(req);
    this.checkService(q.get('service'));
    let user: string | undefined;
    if (req.headers.authorization !== undefined) {
      const creds = parseBasic(req.headers.authorization);
      if (!creds) throw this.refused(undefined);
      user = await this.login(creds.user, creds.password);
      const account = q.get('account');
      if (account !== null && account !== '' && account !== user) throw this.refused(account);
    }
    const requested = q.getAll('scope').flatMap(parseScopes);
    const issued = await this.grant(user, requested);
    const body: Record<string, unknown> = {
      token: issued.token,
      access_token: issued.token,
      expires_in: issued.expiresIn,
      issued_at: issued.issuedAt,
    };
    if (user !== undefined && q.get('offline_token') === 'true') body.refresh_token = await this.issuer.refresh(user);
    sendJSON(res, 200, body);
  }

  private async post(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase();
    if (type !== 'application/x-www-form-urlencoded') throw new TsdError('UNSUPPORTED', 'the token form must be application/x-www-form-urlencoded');
    const raw = await readBody(req, 64 * 1024, () => new TsdError('SIZE_INVALID', 'token request too large'));
    const form = new URLSearchParams(raw.toString('utf8'));
    this.checkService(form.get('service'));
    let user: string;
    let refreshToken: string | undefined;
    switch (form.get('grant_type')) {
      case 'password': {
        const username = form.get('username') ?? '';
        user = await this.login(username, form.get('password') ?? '');
        if (form.get('access_type') === 'offline') refreshToken = await this.issuer.refresh(user);
        break;
      }
      case 'refresh_token': {
        const subject = await this.issuer.refreshSubject(form.get('refresh_token') ?? '');
        if (subject === undefined || !(await this.users?.has(subject))) throw this.refused(subject);
        user = subject;
        refreshToken = form.get('refresh_token') ?? undefined;
        break;
      }
      default:
        throw new TsdError('UNSUPPORTED', 'grant_type must be password or refresh_token');
    }
    const issued = await this.grant(user, parseScopes(form.get('scope') ?? ''));
    const body: Record<string, unknown> = {
      access_token: issued.token,
      token_type: 'Bearer',
      expires_in: issued.expiresIn,
      issued_at: issued.issuedAt,
      scope: issued.access.map(formatScope).join(' '),
    };
    if (refreshToken) body.refresh_token = refreshToken;
    sendJSON(res, 200, body);
  }
}
