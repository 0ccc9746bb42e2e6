/**
 * The overlay snapshotter: each snapshot has `fs/` (its upper dir, only its own changes) and
 * `work/` (overlay's workdir). A committed snapshot's `fs/` is a lower dir of its children.
 * - active, no parent:   a writable bind of `fs/`;
 * - active with parents: one overlay, lowerdir = the ancestors' `fs/`, nearest first,
 *   upperdir = `fs/`, workdir = `work/`;
 * - view, no parent:     a read-only bind of its (empty) `fs/`;
 * - view of one layer:   a read-only bind of that layer's `fs/`;
 * - view of a chain:     a read-only overlay with lowerdirs only.
 * Layers are applied into `fs/` in overlay mode (whiteouts as 0/0 char devices, opaque dirs as
 * trusted.overlay.opaque=y). Mount lists hold absolute paths; mount.ts handles lists longer than
 * the mount(2) page (see there).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TsdError } from '../../shared/errors.js';
import { BaseSnapshotter, type SnapshotterOptions } from './base.js';
import type { Mount } from './snapshotter.js';

/** overlayfs accepts at most this many lower layers. */
export const MAX_OVERLAY_LAYERS = 500;

export class OverlaySnapshotter extends BaseSnapshotter {
  readonly name = 'overlay' as const;
  protected readonly applyMode = 'overlay' as const;

  private constructor(options: SnapshotterOptions) {
    super(options);
  }

  static async open(options: SnapshotterOptions): Promise<OverlaySnapshotter> {
    // Paths go into a comma- and colon-separated option string unescaped.
    if (/[,:\\\s]/.test(options.root)) {
      throw new TsdError('CONFIG_INVALID', `overlay snapshotter root ${JSON.stringify(options.root)} must not contain ',', ':', '\\' or whitespace`);
    }
    return new OverlaySnapshotter(options).open();
  }

  protected async populate(dir: string, _kind: 'active' | 'view', chain: number[]): Promise<void> {
    if (chain.length >= MAX_OVERLAY_LAYERS) {
      throw new TsdError('UNSUPPORTED', `overlay supports at most ${MAX_OVERLAY_LAYERS - 1} parent layers (got ${chain.length})`);
    }
    await mkdir(dir, { mode: 0o700 });
    await mkdir(join(dir, 'fs'), { mode: 0o755 });
    await mkdir(join(dir, 'work'), { mode: 0o711 });
  }

  protected mountsOf(id: number, kind: 'active' | 'view', chain: number[]): Mount[] {
    const lowers = chain.map((p) => this.fsDir(p));
    if (kind === 'active') {
      if (lowers.length === 0) return [{ type: 'bind', source: this.fsDir(id), options: ['rw', 'rbind'] }];
      return [{
        type: 'overlay',
        source: 'overlay',
        options: [
          `workdir=${join(this.snapshotsDir, String(id), 'work')}`,
          `upperdir=${this.fsDir(id)}`,
          `lowerdir=${lowers.join(':')}`,
        ],
      }];
    }
    if (lowers.length === 0) return [{ type: 'bind', source: this.fsDir(id), options: ['ro', 'rbind'] }];
    if (lowers.length === 1) return [{ type: 'bind', source: lowers[0]!, options: ['ro', 'rbind'] }];
    return [{ type: 'overlay', source: 'overlay', options: ['ro', `lowerdir=${lowers.join(':')}`] }];
  }
}
