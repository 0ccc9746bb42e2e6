import { repositoriesRoot } from '../../shared/paths.js';
import { isRepositoryName } from '../../shared/reference.js';
import type { StorageBackend } from '../../shared/storage-backend.js';
import { listNames } from './links.js';

/**
 * Every repository name in the store, sorted. For the catalog a repository is a directory with
 * manifests (blobs or uploads alone do not make one); maintenance passes all three markers to also
 * see repositories holding only layer links or uploads.
 */
export async function listRepositories(backend: StorageBackend, markers: readonly string[] = ['_manifests']): Promise<string[]> {
  const repositoryMarkers = new Set(markers);
  const found: string[] = [];
  async function walk(prefix: string): Promise<void> {
    const children = await listNames(backend, prefix === '' ? repositoriesRoot : `${repositoriesRoot}/${prefix}`);
    const sub: Promise<void>[] = [];
    let isRepository = false;
    for (const child of children) {
      if (child.startsWith('_')) {
        if (repositoryMarkers.has(child)) isRepository = true;
        continue;
      }
      const name = prefix === '' ? child : `${prefix}/${child}`;
      if (name.length <= 255) sub.push(walk(name));
    }
    if (isRepository && isRepositoryName(prefix)) found.push(prefix);
    await Promise.all(sub);
  }
  await walk('');
  return found.sort();
}
