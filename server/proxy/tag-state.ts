import { LRUCache } from 'lru-cache';
import { isDigest, type Digest } from '../../shared/digest.js';
import { TsdError, isNotFound } from '../../shared/errors.js';
import { paths } from '../../shared/paths.js';
import { isTag } from '../../shared/reference.js';
import type { StorageBackend } from '../../shared/storage-backend.js';

export interface TagState {
  /** The digest the upstream had for the tag when it was last checked. */
  digest: Digest;
  /** When that was (ms since the epoch). */
  checkedAt: number;
}

/** `repositories/<name>/_tsdocker_proxy/tags/<tag>`: beside the repository, ignored by distribution. */
export function tagStatePath(name: string, tag: string): string {
  if (!isTag(tag)) throw new TsdError('TAG_INVALID', `invalid tag "${tag.slice(0, 140)}"`);
  return `${paths.repository(name)}/_tsdocker_proxy/tags/${tag}`;
}

/**
 * When each proxied tag was last checked upstream. It lives in storage (so a restart, or another
 * replica over the same bucket, does not revalidate everything at once), with a memory cache in
 * front; a stale memory entry is re-read from storage before the upstream is asked, so a check
 * made by another replica counts too.
 */
export class TagStateStore {
  private readonly memory = new LRUCache<string, TagState>({ max: 50_000 });

  constructor(private readonly backend: StorageBackend) {}

  private key(name: string, tag: string): string {
    return `${name}:${tag}`;
  }

  async get(name: string, tag: string, ttlMs: number): Promise<TagState | undefined> {
    const cached = this.memory.get(this.key(name, tag));
    if (cached && Date.now() - cached.checkedAt < ttlMs) return cached;
    let stored: TagState | undefined;
    try {
      const doc = JSON.parse((await this.backend.getContent(tagStatePath(name, tag))).toString('utf8')) as { digest?: unknown; checkedAt?: unknown };
      const checkedAt = typeof doc.checkedAt === 'string' ? Date.parse(doc.checkedAt) : NaN;
      if (typeof doc.digest === 'string' && isDigest(doc.digest) && Number.isFinite(checkedAt)) stored = { digest: doc.digest, checkedAt };
    } catch (err) {
      if (!isNotFound(err) && !(err instanceof SyntaxError)) throw err;
    }
    if (stored) this.memory.set(this.key(name, tag), stored);
    return stored ?? cached;
  }

  async set(name: string, tag: string, state: TagState): Promise<void> {
    this.memory.set(this.key(name, tag), state);
    await this.backend.putContent(tagStatePath(name, tag), Buffer.from(JSON.stringify({ digest: state.digest, checkedAt: new Date(state.checkedAt).toISOString() })));
  }

  async delete(name: string, tag: string): Promise<void> {
    this.memory.delete(this.key(name, tag));
    await this.backend.delete(tagStatePath(name, tag)).catch((err) => (isNotFound(err) ? undefined : Promise.reject(err)));
  }
}
