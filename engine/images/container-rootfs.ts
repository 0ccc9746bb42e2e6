/**
 * A container's snapshots, as docker layers them: the image's top, then `<key>-init` (committed:
 * the mount points the runtime needs, /proc, /sys, /dev, /etc/hosts, /etc/hostname,
 * /etc/resolv.conf, and /.dockerenv), then `<key>` (active: the container's own changes). With
 * the mount points below the writable layer, `docker diff`, `docker commit` and the SizeRw of a
 * container show only what the container itself changed.
 *
 * The init entries are made through a mount of the init snapshot (overlay copies parents up as
 * needed) and never through a symlink the image holds: an entry is created only where lstat finds
 * nothing, inside a real directory; anything else is left to the runtime, which makes its mount
 * targets inside the container's root.
 */
import { lstat, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isSnapshotError, type Mount } from '../snapshots/snapshotter.js';
import type { EngineContext } from './engine-context.js';
import { mountInTemp } from './temp-mount.js';

const INIT_DIRS = ['proc', 'sys', 'dev'];
const INIT_ETC_FILES = ['hosts', 'hostname', 'resolv.conf'];

export function initKeyOf(key: string): string {
  return `${key}-init`;
}

function preparingKeyOf(key: string): string {
  return `${initKeyOf(key)}-prepare`;
}

/**
 * The writable snapshot `key` for a container of the image whose top snapshot is `imageTop`
 * ('' or undefined: an empty image), over its init snapshot. Returns the container's mounts.
 * On failure nothing of it is left.
 */
export async function prepareContainerRootfs(
  ctx: EngineContext,
  key: string,
  imageTop: string | undefined,
  labels: Record<string, string> = {},
): Promise<Mount[]> {
  const initKey = initKeyOf(key);
  const preparing = preparingKeyOf(key);
  try {
    const mounts = await ctx.snapshots.prepare(preparing, imageTop === '' ? undefined : imageTop, { labels });
    await withMounted(ctx, mounts, makeMountPoints);
    await ctx.snapshots.commit(initKey, preparing);
    return await ctx.snapshots.prepare(key, initKey, { labels });
  } catch (err) {
    await removeContainerRootfs(ctx, key).catch(() => undefined);
    throw err;
  }
}

/** Remove a container's snapshots (the writable one first); missing ones are no error. */
export async function removeContainerRootfs(ctx: EngineContext, key: string): Promise<void> {
  for (const k of [key, initKeyOf(key), preparingKeyOf(key)]) {
    try {
      await ctx.snapshots.remove(k);
    } catch (err) {
      if (!isSnapshotError(err, 'not-found')) throw err;
    }
  }
}

/**
 * The image snapshot a container's writable snapshot stands on: the parent of its init snapshot,
 * or its own parent for containers made before init snapshots existed.
 */
export async function imageTopOf(ctx: EngineContext, key: string): Promise<string | undefined> {
  const { parent } = await ctx.snapshots.stat(key);
  if (parent !== initKeyOf(key)) return parent;
  return (await ctx.snapshots.stat(parent)).parent;
}

async function withMounted(ctx: EngineContext, mounts: Mount[], fn: (root: string) => Promise<void>): Promise<void> {
  const m = await mountInTemp(ctx.dataRoot, mounts, 'init-');
  try {
    await fn(m.dir);
  } finally {
    await m.release();
  }
}

async function kindOf(path: string): Promise<'missing' | 'dir' | 'other'> {
  try {
    return (await lstat(path)).isDirectory() ? 'dir' : 'other';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
}

/** An empty file where there is nothing; O_EXCL never follows a symlink planted meanwhile. */
async function ensureFile(path: string, mode: number): Promise<void> {
  if ((await kindOf(path)) !== 'missing') return;
  await writeFile(path, '', { flag: 'wx', mode });
}

async function makeMountPoints(root: string): Promise<void> {
  for (const name of INIT_DIRS) {
    if ((await kindOf(join(root, name))) === 'missing') await mkdir(join(root, name), { mode: 0o755 });
  }
  const etc = join(root, 'etc');
  let etcKind = await kindOf(etc);
  if (etcKind === 'missing') {
    await mkdir(etc, { mode: 0o755 });
    etcKind = 'dir';
  }
  if (etcKind === 'dir') for (const name of INIT_ETC_FILES) await ensureFile(join(etc, name), 0o644);
  await ensureFile(join(root, '.dockerenv'), 0o755);
}
