/**
 * Child process for the crash tests: opens a snapshotter and prepares 'k' on 'p', pausing for
 * ever at the given crash point after printing "at <point>", so the test can SIGKILL it there.
 * argv: driver root point
 */
import { OverlaySnapshotter, VfsSnapshotter, type CrashPoint, type SnapshotterOptions } from '../../../engine/snapshots/index.js';

const [driver, root, point] = process.argv.slice(2) as ['overlay' | 'vfs', string, CrashPoint];
const options: SnapshotterOptions = {
  root,
  onCrashPoint: async (reached) => {
    if (reached !== point) return;
    process.stdout.write(`at ${reached}\n`);
    await new Promise(() => setInterval(() => undefined, 1 << 30));
  },
};
const s = driver === 'overlay' ? await OverlaySnapshotter.open(options) : await VfsSnapshotter.open(options);
await s.prepare('k', 'p');
process.stdout.write('done\n');
