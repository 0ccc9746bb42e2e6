import { decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import type { Access } from './access.js';
import type { VerificationKey } from './keys.js';

/** Asymmetric algorithms only: `none` and HMAC (a public key used as a shared secret) never verify. */
const allowed: Record<string, string> = {
  ES256: 'EC', ES384: 'EC', ES512: 'EC',
  RS256: 'RSA', RS384: 'RSA', RS512: 'RSA', PS256: 'RSA', PS384: 'RSA', PS512: 'RSA',
};

export const maxTokenLength = 8192;

export interface VerifiedToken {
  subject: string;
  access: Access[];
}

function isAccessList(v: unknown): v is Access[] {
  return (
    Array.isArray(v) &&
    v.every(
      (a) =>
        typeof a === 'object' && a !== null &&
        typeof (a as Access).type === 'string' && typeof (a as Access).name === 'string' &&
        Array.isArray((a as Access).actions) && (a as Access).actions.every((x) => typeof x === 'string'),
    )
  );
}

/**
 * Checks bearer tokens as the Docker token specification describes: signature by a trusted key,
 * issuer, audience (the service), expiry and not-before (60 s leeway, as distribution), and a
 * well-formed `access` claim. Returns undefined for any token that fails.
 */
export class TokenVerifier {
  constructor(
    private readonly keys: VerificationKey[],
    private readonly issuer: string,
    private readonly service: string,
  ) {}

  async verify(token: string): Promise<VerifiedToken | undefined> {
    if (token.length > maxTokenLength) return undefined;
    let alg: string | undefined;
    let kid: string | undefined;
    try {
      ({ alg, kid } = decodeProtectedHeader(token));
    } catch {
      return undefined;
    }
    const kind = alg === undefined ? undefined : allowed[alg];
    if (!kind) return undefined;
    const byKid = this.keys.filter((k) => k.kid === kid && k.kind === kind);
    const candidates = byKid.length > 0 ? byKid : this.keys.filter((k) => k.kind === kind);
    for (const candidate of candidates) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, candidate.key, {
          algorithms: [alg!],
          issuer: this.issuer,
          audience: this.service,
          clockTolerance: 60,
          requiredClaims: ['exp'],
        }));
      } catch {
        continue;
      }
      const access = payload.access ?? [];
      if (!isAccessList(access)) return undefined;
      return { subject: typeof payload.sub === 'string' ? payload.sub : '', access };
    }
    return undefined;
  }
}
