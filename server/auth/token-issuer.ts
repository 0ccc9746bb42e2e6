import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import type { Access } from './access.js';
import type { SigningKey } from './keys.js';

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
}

const refreshAudienceSuffix = '#refresh';

/** Signs access tokens (and refresh tokens, which are never accepted as access tokens). */
export class TokenIssuer {
  constructor(
    private readonly key: SigningKey,
    private readonly issuer: string,
    private readonly service: string,
    private readonly ttlSeconds = 300,
    private readonly refreshTtlSeconds = 30 * 24 * 3600,
  ) {}

  private base(subject: string, audience: string, ttl: number, claims: Record<string, unknown>) {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT(claims)
      .setProtectedHeader({ alg: this.key.alg, kid: this.key.publicKey.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setSubject(subject)
      .setAudience(audience)
      .setIssuedAt(now)
      .setNotBefore(now - 1)
      .setExpirationTime(now + ttl)
      .setJti(randomUUID())
      .sign(this.key.privateKey);
  }

  async access(subject: string, access: Access[]): Promise<IssuedToken> {
    const token = await this.base(subject, this.service, this.ttlSeconds, { access });
    return { token, expiresIn: this.ttlSeconds, issuedAt: new Date().toISOString() };
  }

  async refresh(subject: string): Promise<string> {
    return this.base(subject, `${this.service}${refreshAudienceSuffix}`, this.refreshTtlSeconds, {});
  }

  /** The user a refresh token was issued to, or undefined if it is not one of ours or expired. */
  async refreshSubject(token: string): Promise<string | undefined> {
    if (token.length > 8192) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.key.publicKey.key, {
        algorithms: [this.key.alg],
        issuer: this.issuer,
        audience: `${this.service}${refreshAudienceSuffix}`,
      });
      return typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : undefined;
    } catch {
      return undefined;
    }
  }
}
