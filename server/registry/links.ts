import { isDigest, type Digest } from '../../shared/digest.js';
import { isNotFound } from '../../shared/errors.js';
import type { StorageBackend } from '../../shared/storage-backend.js';

/** Distribution's "link" files: a small file whose content is a digest. */
export async function readLink(backend: StorageBackend, path: string): Promise<Digest | undefined> {
  let text: string;
  try {
    text = (await backend.getContent(path)).toString('utf8').trim();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  return isDigest(text) ? text : undefined;
}

export async function writeLink(backend: StorageBackend, path: string, digest: Digest): Promise<void> {
  await backend.putContent(path, Buffer.from(digest));
}

/** Whether a file (not a directory) is in storage now; other failures are raised. */
export async function fileExists(backend: StorageBackend, path: string): Promise<boolean> {
  try {
    return !(await backend.stat(path)).isDir;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Delete a path; report whether it existed. */
export async function deleteIfExists(backend: StorageBackend, path: string): Promise<boolean> {
  try {
    await backend.delete(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** Children's last path components, or [] when the directory does not exist. */
export async function listNames(backend: StorageBackend, path: string): Promise<string[]> {
  try {
    return (await backend.list(path)).map((p) => p.slice(p.lastIndexOf('/') + 1));
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
}

/**
 * Digests stored below `root` in distribution's `<algorithm>/<hex>/link` shape (revisions,
 * layers, tag indexes, referrers).
 */
export async function listLinkedDigests(backend: StorageBackend, root: string): Promise<Digest[]> {
  const out: Digest[] = [];
  for (const algorithm of await listNames(backend, root)) {
    for (const hex of await listNames(backend, `${root}/${algorithm}`)) {
      const d = `${algorithm}:${hex}`;
      if (isDigest(d)) out.push(d);
    }
  }
  return out;
}

/**
 * Layer and revision links, whose content is the digest in their own path: their existence is all
 * that matters, so a check is one stat. Never cached: another process over the same storage may
 * delete one at any moment, and correctness must not depend on a cache.
 */
export class ImmutableLinks {
  constructor(private readonly backend: StorageBackend) {}

  exists(path: string): Promise<boolean> {
    return fileExists(this.backend, path);
  }

  async write(path: string, digest: Digest): Promise<void> {
    await writeLink(this.backend, path, digest);
  }
}
