/**
 * Network namespaces as files. A namespace the engine prepares before a container starts is a
 * bind mount of an nsfs file on a regular file (`<stateDir>/netns/<containerId>`): it lives until
 * that mount is removed, whatever processes come and go, and the runtime joins it with
 * setns(open(path), CLONE_NEWNET). A namespace the runtime made itself is named by
 * `/proc/<pid>/ns/net`. Both kinds of path work everywhere below.
 *
 * Configuring inside a namespace uses `ip -n NAME`, and iproute2 only resolves NAME under
 * /run/netns: `withNetnsName` bind-mounts the namespace there under a name private to this
 * process (`tsd-<pid>-<n>`) for the duration of one call and removes it afterwards; names left by
 * a process that died are swept by `sweepStaleNetnsNames`.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isErrno, MNT_DETACH, MS_BIND, mount, umount2 } from './native.js';

const run = promisify(execFile);
const childScript = fileURLToPath(new URL('./netns-child.js', import.meta.url));
export const netnsRunDir = '/run/netns';
const tempPrefix = 'tsd-';
let seq = 0;

/**
 * Create one fresh network namespace (only `lo`, up) per target path, each kept alive by a bind
 * mount on that path. One child process makes them all (its start-up is the cost, not the count).
 * On failure nothing is left behind.
 */
export async function createNetnsFiles(targets: string[]): Promise<void> {
  if (targets.length === 0) return;
  const made: string[] = [];
  try {
    for (const t of targets) {
      await writeFile(t, '', { flag: 'wx', mode: 0o444 });
      made.push(t);
    }
    await run(process.execPath, [childScript, ...targets]);
  } catch (err) {
    for (const t of made) await removeNetnsFile(t).catch(() => {});
    const stderr = (err as { stderr?: string }).stderr;
    throw new Error(`creating a network namespace failed: ${stderr?.trim() || (err as Error).message}`, { cause: err });
  }
}

/** Unmount (lazily: an `ip` still inside keeps it until it exits) and delete a namespace file. */
export async function removeNetnsFile(path: string): Promise<void> {
  try {
    umount2(path, MNT_DETACH);
  } catch (err) {
    if (!isErrno(err, 'EINVAL', 'ENOENT')) throw err; // not mounted, or already gone
  }
  await rm(path, { force: true });
}

/** Run `fn` with a /run/netns name for the namespace at `nsPath`, removed afterwards. */
export async function withNetnsName<T>(nsPath: string, fn: (name: string) => Promise<T>): Promise<T> {
  await mkdir(netnsRunDir, { recursive: true });
  const name = `${tempPrefix}${process.pid}-${++seq}`;
  const file = join(netnsRunDir, name);
  await writeFile(file, '', { flag: 'wx', mode: 0o444 });
  try {
    mount(nsPath, file, null, MS_BIND, null);
  } catch (err) {
    await rm(file, { force: true });
    throw new Error(`network namespace ${nsPath} is not available: ${(err as Error).message}`, { cause: err });
  }
  try {
    return await fn(name);
  } finally {
    await removeNetnsFile(file);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return !isErrno(err, 'ESRCH');
  }
}

/** Remove /run/netns names that processes which have exited left behind. */
export async function sweepStaleNetnsNames(): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(netnsRunDir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = /^tsd-(\d+)-\d+$/.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    await removeNetnsFile(join(netnsRunDir, name));
    removed.push(name);
  }
  return removed;
}
