import type { IncomingMessage } from 'node:http';
import { TsdError } from '../../shared/errors.js';
import { covers, formatScope, type Access } from './access.js';
import { parseBasic, type Htpasswd } from './htpasswd.js';
import type { TokenVerifier } from './token-verifier.js';

/** Who the caller is and what they may do, once authorised for a request. */
export interface Caller {
  user: string | undefined;
  /** Whether the caller may also do `needed` (for optional extras such as a cross-repository mount). */
  may(needed: Access[]): boolean;
}

/** Decides whether a request may go ahead; throws UNAUTHORIZED or DENIED with the challenge. */
export interface AccessController {
  readonly kind: 'anonymous' | 'htpasswd' | 'token';
  authorize(req: IncomingMessage, needed: Access[]): Promise<Caller>;
}

export class AnonymousAccess implements AccessController {
  readonly kind = 'anonymous';
  async authorize(): Promise<Caller> {
    return { user: undefined, may: () => true };
  }
}

/** htpasswd users, each with full access (distribution's htpasswd semantics). */
export class BasicAccess implements AccessController {
  readonly kind = 'htpasswd';
  constructor(
    private readonly realm: string,
    private readonly users: Htpasswd,
  ) {}

  async authorize(req: IncomingMessage): Promise<Caller> {
    const creds = parseBasic(req.headers.authorization);
    if (creds && (await this.users.verify(creds.user, creds.password))) return { user: creds.user, may: () => true };
    throw new TsdError('UNAUTHORIZED', 'authentication required', {
      headers: { 'WWW-Authenticate': `Basic realm="${this.realm}",charset="UTF-8"` },
    });
  }
}

/** Bearer tokens from a token server (ours or an external one). */
export class TokenAccess implements AccessController {
  readonly kind = 'token';
  constructor(
    private readonly realm: string,
    private readonly service: string,
    private readonly verifier: TokenVerifier,
  ) {}

  private challenge(needed: Access[], error?: string): string {
    let value = `Bearer realm="${this.realm}",service="${this.service}"`;
    if (needed.length > 0) value += `,scope="${needed.map(formatScope).join(' ')}"`;
    if (error) value += `,error="${error}"`;
    return value;
  }

  async authorize(req: IncomingMessage, needed: Access[]): Promise<Caller> {
    const header = req.headers.authorization;
    const m = header === undefined ? null : /^Bearer\s+([A-Za-z0-9._~+/=-]+)$/i.exec(header.trim());
    if (!m) {
      throw new TsdError('UNAUTHORIZED', 'authentication required', { headers: { 'WWW-Authenticate': this.challenge(needed) } });
    }
    const verified = await this.verifier.verify(m[1]!);
    if (!verified) {
      throw new TsdError('UNAUTHORIZED', 'invalid or expired token', {
        headers: { 'WWW-Authenticate': this.challenge(needed, 'invalid_token') },
      });
    }
    if (!covers(verified.access, needed)) {
      // 401 with the challenge lets a client fetch a token with the scope; the code tells a person why.
      throw new TsdError('DENIED', 'requested access to the resource is denied', {
        headers: { 'WWW-Authenticate': this.challenge(needed, 'insufficient_scope') },
        status: 401,
      });
    }
    return { user: verified.subject || undefined, may: (extra) => covers(verified.access, extra) };
  }
}
