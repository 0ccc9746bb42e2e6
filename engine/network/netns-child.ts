/**
 * A short-lived process for netns.ts: creates one new network namespace per target file given in
 * argv, each kept alive by a bind mount of its nsfs file on the target (which must exist), with
 * `lo` up. unshare(2) moves only the calling thread, so everything after it is synchronous on the
 * main thread: the mount source is this thread's namespace, and spawnSync forks from this thread,
 * so `ip` runs inside the new namespace.
 * Exit 0 when all were made; 1 with the error on stderr (targets already made stay made).
 */
import { spawnSync } from 'node:child_process';
import { CLONE_NEWNET, MS_BIND, mount, unshare } from './native.js';

try {
  for (const target of process.argv.slice(2)) {
    unshare(CLONE_NEWNET);
    mount('/proc/thread-self/ns/net', target, null, MS_BIND, null);
    const lo = spawnSync('ip', ['link', 'set', 'lo', 'up'], { encoding: 'utf8' });
    if (lo.status !== 0) throw new Error(`ip link set lo up: ${lo.stderr || lo.error?.message || `exited with ${lo.status}`}`);
    process.stdout.write(`${target}\n`);
  }
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
}
