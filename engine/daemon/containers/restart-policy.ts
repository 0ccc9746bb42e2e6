/**
 * Restart policies as dockerd's restart manager applies them: `always` and `unless-stopped`
 * restart unless the container was stopped by hand, `on-failure[:N]` on a non-zero exit while
 * fewer than N restarts happened (N = 0: no limit). Delays double from 100 ms up to a minute,
 * and fall back to 100 ms after a run of 10 seconds or more.
 */
import type { RestartPolicy } from './types.js';

const FIRST_DELAY_MS = 100;
const MAX_DELAY_MS = 60_000;
const STABLE_RUN_MS = 10_000;

export function shouldRestart(policy: Partial<RestartPolicy> | undefined, exitCode: number, restartCount: number, manuallyStopped: boolean): boolean {
  if (manuallyStopped) return false;
  switch (policy?.Name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure': {
      const max = policy.MaximumRetryCount ?? 0;
      return exitCode !== 0 && (max === 0 || restartCount < max);
    }
    default:
      return false;
  }
}

/** The delay before the next restart, from the previous delay and how long the last run lasted. */
export function nextDelay(previousMs: number, ranForMs: number): number {
  if (ranForMs >= STABLE_RUN_MS || previousMs === 0) return FIRST_DELAY_MS;
  return Math.min(previousMs * 2, MAX_DELAY_MS);
}
