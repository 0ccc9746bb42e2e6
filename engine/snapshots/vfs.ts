/**
 * The vfs snapshotter: every snapshot is a full copy of its parent (copy.ts keeps owners, modes,
 * xattrs, symlinks, hardlinks, devices and times), mounted as a bind (`rbind`, plus `ro` for
 * views). Slow and space-hungry, but it works on any filesystem. Layers are applied into the copy
 * in vfs mode (whiteouts delete).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { BaseSnapshotter, type SnapshotterOptions } from './base.js';
import { copyTree } from './copy.js';
import type { Mount } from './snapshotter.js';

export class VfsSnapshotter extends BaseSnapshotter {
  readonly name = 'vfs' as const;
  protected readonly applyMode = 'vfs' as const;

  private constructor(options: SnapshotterOptions) {
    super(options);
  }

  static async open(options: SnapshotterOptions): Promise<VfsSnapshotter> {
    return new VfsSnapshotter(options).open();
  }

  protected async populate(dir: string, _kind: 'active' | 'view', chain: number[]): Promise<void> {
    await mkdir(dir, { mode: 0o700 });
    const parent = chain[0];
    if (parent === undefined) await mkdir(join(dir, 'fs'), { mode: 0o755 });
    else await copyTree(this.fsDir(parent), join(dir, 'fs'));
  }

  protected mountsOf(id: number, kind: 'active' | 'view'): Mount[] {
    return [{ type: 'bind', source: this.fsDir(id), options: [kind === 'view' ? 'ro' : 'rw', 'rbind'] }];
  }
}
