/**
 * Remove a cgroup a peer made below the root of every hierarchy (`docker --cgroup-parent`,
 * `podman --cgroup-parent`), children first. rmdir of a cgroup that still has processes fails
 * (EBUSY), so nothing in use is ever taken away.
 */
import { readFileSync } from 'node:fs';
import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Mount points of every cgroup (v1) and cgroup2 hierarchy. */
export function cgroupMounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' - '))
    .filter(([, tail]) => tail !== undefined && /^cgroup2? /.test(tail))
    .map(([head]) => head!.split(' ')[4]!);
}

async function removeDeep(dir: string): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return; // not there
  }
  for (const e of entries) if (e.isDirectory()) await removeDeep(join(dir, e.name));
  await rmdir(dir);
}

/** Remove `/name` (absolute below each hierarchy's root) and its children; the paths that could not go. */
export async function removeCgroupTree(name: string): Promise<string[]> {
  const left: string[] = [];
  for (const mount of cgroupMounts()) {
    const dir = join(mount, name);
    await removeDeep(dir).catch(() => left.push(dir));
  }
  return left;
}
