/**
 * CPU priority of a whole session (the kernel's autogroup, /proc/<pid>/autogroup). Shims and
 * inits are session leaders (setsid), each in an autogroup of its own, where a process's own
 * nice value weighs only against its session: a warm shim and its init are made background work
 * through their autogroups' nice value, and brought back to 0 when claimed.
 */
import { writeFileSync } from 'node:fs';

export const BACKGROUND_NICE = 19;

/** Set the autogroup nice value of `pid`'s session; a kernel without autogroups: no effect. */
export function setSessionNice(pid: number | 'self', nice: number): void {
  try {
    writeFileSync(`/proc/${pid}/autogroup`, String(nice));
  } catch {
    /* no autogroup support (or the process is gone): scheduling stays as it was */
  }
}
