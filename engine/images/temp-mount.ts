/**
 * A snapshot's mounts made on a fresh directory under `<data-root>/tmp/` (which the daemon clears
 * at start-up), for reading or preparing a tree outside any container; `release()` undoes the
 * mount (lazily) and removes the directory, and must be called whatever happens.
 */
import { mkdir, mkdtemp, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mount, unmount } from '../snapshots/mount.js';
import type { Mount } from '../snapshots/snapshotter.js';

export interface TempMount {
  dir: string;
  release(): Promise<void>;
}

export async function mountInTemp(dataRoot: string, mounts: Mount[], prefix: string): Promise<TempMount> {
  const base = join(dataRoot, 'tmp');
  await mkdir(base, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(base, prefix));
  try {
    await mount(mounts, dir);
  } catch (err) {
    await rmdir(dir).catch(() => undefined);
    throw err;
  }
  return {
    dir,
    release: async () => {
      await unmount(dir, { detach: true });
      await rmdir(dir);
    },
  };
}
