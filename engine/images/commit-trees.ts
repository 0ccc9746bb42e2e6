/**
 * The trees of a container's snapshot that diff, export and commit read, found through the
 * snapshotter's own answers (mount list, applyTarget, dirOf), never by guessing its layout:
 * - overlay: the upper dir (the container's changes, whiteouts as 0/0 char devices), the lower
 *   dirs (the parent chain, nearest first), the parent's merged tree (a read-only overlay of the
 *   lowers, or the one lower as it is), and the container's merged tree (a read-only overlay with
 *   the upper dir as its top lower layer: it never touches the upper or work dir, so it can be
 *   made while the container runs);
 * - vfs: the container's full copy, and the parent's tree (its own directory).
 * Mounts are made under `<data-root>/tmp/` (temp-mount.ts) and undone (lazily, then the directory
 * removed) by `release()`, which must be called whatever happens.
 */
import { randomBytes } from 'node:crypto';
import { TsdError } from '../../shared/errors.js';
import type { Mount } from '../snapshots/snapshotter.js';
import type { EngineContext } from './engine-context.js';
import { mountInTemp } from './temp-mount.js';

export interface SnapshotTrees {
  readonly driver: 'overlay' | 'vfs';
  /** overlay: the snapshot's upper dir; vfs: its full tree. */
  readonly own: string;
  /** overlay: the parent chain's layer dirs, nearest first (vfs: empty). */
  readonly lowers: string[];
  readonly hasParent: boolean;
  /** The snapshot as a container sees it (read-only). `followMeta`: honour overlay redirects and metacopy. */
  merged(options?: { followMeta?: boolean }): Promise<string>;
  /** The parent's full tree, or undefined when the snapshot has no parent. */
  parent(): Promise<string | undefined>;
  release(): Promise<void>;
}

function optionValue(m: Mount, key: string): string | undefined {
  const o = m.options.find((x) => x.startsWith(`${key}=`));
  return o === undefined ? undefined : o.slice(key.length + 1);
}

/** Open the trees of an active snapshot (a container's writable layer). */
export async function openTrees(ctx: EngineContext, key: string): Promise<SnapshotTrees> {
  const info = await ctx.snapshots.stat(key);
  if (info.kind !== 'active') throw new TsdError('INVALID_ARGUMENT', `snapshot ${JSON.stringify(key)} is ${info.kind}, not a container's writable layer`);
  const target = await ctx.snapshots.applyTarget(key);
  const driver = target.mode;
  let lowers: string[] = [];
  if (driver === 'overlay') {
    const mounts = await ctx.snapshots.mounts(key);
    const m = mounts.length === 1 ? mounts[0]! : undefined;
    if (m?.type === 'overlay') lowers = (optionValue(m, 'lowerdir') ?? '').split(':').filter((d) => d !== '');
    else if (m?.type !== 'bind') throw new TsdError('UNSUPPORTED', `snapshot ${JSON.stringify(key)}: unexpected mounts ${JSON.stringify(mounts)}`);
  }
  return new Trees(ctx, key, driver, target.dir, lowers, info.parent);
}

class Trees implements SnapshotTrees {
  private readonly cleanups: Array<() => Promise<void>> = [];
  private parentTree: Promise<string | undefined> | undefined;
  private readonly mergedTrees = new Map<boolean, Promise<string>>();

  constructor(
    private readonly ctx: EngineContext,
    private readonly key: string,
    readonly driver: 'overlay' | 'vfs',
    readonly own: string,
    readonly lowers: string[],
    private readonly parentKey: string | undefined,
  ) {}

  get hasParent(): boolean {
    return this.parentKey !== undefined;
  }

  merged(options: { followMeta?: boolean } = {}): Promise<string> {
    const follow = options.followMeta ?? false;
    let p = this.mergedTrees.get(follow);
    if (!p) {
      p = this.driver === 'vfs' || this.lowers.length === 0
        ? Promise.resolve(this.own)
        : this.mountRo({
            type: 'overlay',
            source: 'overlay',
            options: ['ro', ...(follow ? ['redirect_dir=follow', 'metacopy=on'] : []), `lowerdir=${[this.own, ...this.lowers].join(':')}`],
          });
      this.mergedTrees.set(follow, p);
    }
    return p;
  }

  parent(): Promise<string | undefined> {
    this.parentTree ??= this.findParent();
    return this.parentTree;
  }

  private async findParent(): Promise<string | undefined> {
    if (this.parentKey === undefined) return undefined;
    if (this.driver === 'overlay') {
      if (this.lowers.length === 1) return this.lowers[0]!;
      return this.mountRo({ type: 'overlay', source: 'overlay', options: ['ro', `lowerdir=${this.lowers.join(':')}`] });
    }
    if (this.ctx.snapshots.dirOf) return this.ctx.snapshots.dirOf(this.parentKey);
    // A snapshotter that does not expose its directories: a read-only view of the parent.
    const viewKey = `commit-view-${randomBytes(6).toString('hex')}-${this.key}`.slice(0, 500);
    const mounts = await this.ctx.snapshots.view(viewKey, this.parentKey);
    this.cleanups.push(() => this.ctx.snapshots.remove(viewKey));
    const [m] = mounts;
    if (mounts.length === 1 && m!.type === 'bind') return m!.source;
    return this.mountRo(...mounts);
  }

  private async mountRo(...mounts: Mount[]): Promise<string> {
    const m = await mountInTemp(this.ctx.dataRoot, mounts, 'commit-');
    this.cleanups.push(m.release);
    return m.dir;
  }

  async release(): Promise<void> {
    const errors: unknown[] = [];
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
    this.mergedTrees.clear();
    this.parentTree = undefined;
    if (errors.length > 0) throw errors[0];
  }
}
