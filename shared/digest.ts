import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { TsdError } from './errors.js';

export type Algorithm = 'sha256' | 'sha512';
/** A validated digest string, `algorithm:hex`. Only `parseDigest` and the hashers create one. */
export type Digest = string & { readonly __digest: unique symbol };

const hexLength: Record<Algorithm, number> = { sha256: 64, sha512: 128 };
const digestPattern = /^(sha256|sha512):([a-f0-9]+)$/;

export function isAlgorithm(s: string): s is Algorithm {
  return s === 'sha256' || s === 'sha512';
}

/** Validate a digest; anything else (other algorithms, upper case hex, wrong length) is DIGEST_INVALID. */
export function parseDigest(s: string): Digest {
  const m = digestPattern.exec(s);
  if (!m || m[2]!.length !== hexLength[m[1] as Algorithm]) {
    throw new TsdError('DIGEST_INVALID', `invalid digest "${truncate(s)}"`, { detail: { digest: truncate(s) } });
  }
  return s as Digest;
}

export function isDigest(s: string): s is Digest {
  const m = digestPattern.exec(s);
  return !!m && m[2]!.length === hexLength[m[1] as Algorithm];
}

export function algorithmOf(d: Digest): Algorithm {
  return d.slice(0, d.indexOf(':')) as Algorithm;
}

export function hexOf(d: Digest): string {
  return d.slice(d.indexOf(':') + 1);
}

export function digestOf(data: Uint8Array | string, algorithm: Algorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}` as Digest;
}

/** An incremental hasher that also counts bytes. */
export class Digester {
  readonly algorithm: Algorithm;
  private readonly hash: Hash;
  size = 0;

  constructor(algorithm: Algorithm = 'sha256') {
    this.algorithm = algorithm;
    this.hash = createHash(algorithm);
  }

  update(chunk: Uint8Array): void {
    this.hash.update(chunk);
    this.size += chunk.length;
  }

  digest(): Digest {
    return `${this.algorithm}:${this.hash.digest('hex')}` as Digest;
  }
}

/**
 * A pass-through stream that hashes what flows and, when `expected` is given, fails before it
 * ends if the digest or the size differ, and as soon as more than the expected size arrives.
 */
export class VerifyingStream extends Transform {
  private readonly digester: Digester;
  private result: Digest | undefined;

  constructor(private readonly expected?: { digest?: Digest; size?: number }, algorithm?: Algorithm) {
    super();
    this.digester = new Digester(algorithm ?? (expected?.digest ? algorithmOf(expected.digest) : 'sha256'));
  }

  get size(): number {
    return this.digester.size;
  }

  /** The digest of everything that passed; available after the stream ended. */
  get digest(): Digest {
    if (!this.result) throw new Error('VerifyingStream: digest read before the end');
    return this.result;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.digester.update(chunk);
    const limit = this.expected?.size;
    if (limit !== undefined && this.digester.size > limit) {
      done(new TsdError('SIZE_INVALID', `content is larger than the expected ${limit} bytes`));
      return;
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    this.result = this.digester.digest();
    const { digest, size } = this.expected ?? {};
    if (size !== undefined && this.digester.size !== size) {
      done(new TsdError('SIZE_INVALID', `content is ${this.digester.size} bytes, expected ${size}`));
    } else if (digest !== undefined && digest !== this.result) {
      done(new TsdError('DIGEST_INVALID', `content digest ${this.result} does not match ${digest}`));
    } else {
      done();
    }
  }
}

function truncate(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}...` : s;
}
