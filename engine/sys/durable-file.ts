/**
 * Replace a small state file so that a crash at any moment leaves either the old content or the
 * new: write a temp file beside it, fsync it, rename it over the target, fsync the directory.
 * The temp name starts with `<name>.tmp-`, so an opener can sweep leftovers of a crash.
 */
import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

export interface ReplaceOptions {
  /** File mode of the new file (default 0600). */
  mode?: number;
  /** Called after the temp file is durable and before the rename (crash-point tests). */
  beforeRename?: () => void | Promise<void>;
}

export function tempNameFor(name: string): string {
  return `${name}.tmp-${randomBytes(6).toString('hex')}`;
}

export async function replaceFileDurably(dir: string, name: string, data: string | Uint8Array, options: ReplaceOptions = {}): Promise<void> {
  const target = join(dir, name);
  const temp = join(dir, tempNameFor(name));
  const handle = await open(temp, 'wx', options.mode ?? 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await options.beforeRename?.();
    await rename(temp, target);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(dir);
}

export async function syncDirectory(dir: string): Promise<void> {
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}
