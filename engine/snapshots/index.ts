/** engine/snapshots: containerd-style snapshotters (overlay, vfs) and the mount helper. */
import { mkdir, mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SnapshotterOptions } from './base.js';
import { mount as mountSyscall, umount2, MNT_DETACH } from './native.js';
import { OverlaySnapshotter } from './overlay.js';
import type { Snapshotter } from './snapshotter.js';
import { VfsSnapshotter } from './vfs.js';

export type { CrashPoint, SnapshotterOptions } from './base.js';
export { copyTree } from './copy.js';
export { busyPaths, isMountPoint, mount, unmount, type LongOptionStrategy, type MountOptions } from './mount.js';
export { MAX_OVERLAY_LAYERS, OverlaySnapshotter } from './overlay.js';
export { isSnapshotError, SnapshotError, validateKey, type Mount, type SnapshotErrorReason, type SnapshotInfo, type SnapshotKind, type Snapshotter, type Usage } from './snapshotter.js';
export { VfsSnapshotter } from './vfs.js';

const probes = new Map<string, Promise<boolean>>();

/**
 * Can overlayfs be mounted with its upper and work dirs inside `dir`? (Not on every filesystem:
 * overlay on overlay, some network filesystems, no CAP_SYS_ADMIN, no overlay module.) A real
 * probe mount with two lowers, an upper and a work dir, checked by reading through it. Cached
 * per directory for the life of the process.
 */
export function overlaySupported(dir: string): Promise<boolean> {
  let p = probes.get(dir);
  if (!p) {
    p = probeOverlay(dir);
    probes.set(dir, p);
  }
  return p;
}

async function probeOverlay(dir: string): Promise<boolean> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const base = await mkdtemp(join(dir, 'overlay-probe-'));
  const merged = join(base, 'm');
  let mounted = false;
  try {
    for (const d of ['l1', 'l2', 'u', 'w', 'm']) await mkdir(join(base, d));
    await writeFile(join(base, 'l2', 'probe'), 'ok');
    mountSyscall('overlay', merged, 'overlay', 0, `lowerdir=${base}/l1:${base}/l2,upperdir=${base}/u,workdir=${base}/w`);
    mounted = true;
    return (await readFile(join(merged, 'probe'), 'utf8')) === 'ok';
  } catch {
    return false;
  } finally {
    if (mounted) {
      try {
        umount2(merged, MNT_DETACH);
      } catch {
        /* leave it: rm below would fail loudly enough */
      }
    }
    await rm(base, { recursive: true, force: true });
  }
}

export type Driver = 'overlay' | 'vfs' | 'auto';

/**
 * Open the snapshotter of `driver` at `options.root`; 'auto' (the default) picks overlay when a
 * probe mount in the root works, else vfs.
 */
export async function openSnapshotter(options: SnapshotterOptions & { driver?: Driver }): Promise<Snapshotter> {
  const driver = options.driver ?? 'auto';
  const useOverlay = driver === 'overlay' || (driver === 'auto' && !/[,:\\\s]/.test(options.root) && (await overlaySupported(options.root)));
  return useOverlay ? OverlaySnapshotter.open(options) : VfsSnapshotter.open(options);
}
