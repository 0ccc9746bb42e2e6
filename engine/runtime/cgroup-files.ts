/** File operations both cgroup versions share. */
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Write one value to a cgroup control file (each write is one kernel request). */
export function writeControl(dir: string, file: string, value: string | number): void {
  try {
    writeFileSync(`${dir}/${file}`, String(value));
  } catch (err) {
    throw new Error(`cgroup: writing ${JSON.stringify(String(value))} to ${dir}/${file}: ${(err as Error).message}`, { cause: err });
  }
}

export function readControl(dir: string, file: string): string | undefined {
  try {
    return readFileSync(`${dir}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** A "key value" line of a flat keyed file (memory.events, memory.oom_control). */
export function keyedValue(text: string | undefined, key: string): number | undefined {
  for (const line of (text ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k === key && v !== undefined) return Number(v);
  }
  return undefined;
}

export function makeDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
}

export function pidsIn(dir: string): number[] {
  return (readControl(dir, 'cgroup.procs') ?? '').split('\n').filter(Boolean).map(Number);
}

/** rmdir a cgroup; EBUSY while its last processes are still exiting, so retry for a while. */
export async function removeDir(dir: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || Date.now() > deadline) throw new Error(`cgroup: removing ${dir}: ${(err as Error).message}`, { cause: err });
    }
    await sleep(20);
  }
}
