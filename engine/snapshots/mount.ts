/**
 * mount(mounts, target) / unmount(target): make a snapshotter's mount list real, through
 * mount(2) and umount2(2) (koffi). The mount list is the common language (containerd's model):
 * snapshotters always return absolute paths; the page limit is handled here.
 *
 * Long overlay option strings: mount(2) copies its data argument into one page (4096 bytes,
 * NUL included). Snapshot dirs are `<root>/snapshots/<id>/fs` with small numeric ids, so each
 * lower costs `len(root) + ~15` bytes; with a 40-byte root about 70 layers fit. Beyond that:
 *   1. 'fsconfig' (tried first): the new mount API (fsopen/fsconfig/fsmount/move_mount) with one
 *      `lowerdir+` call per layer: no page limit at all, only the kernel's 500 lowers
 *      (kernel >= 6.8);
 *   2. 'relative' (the fallback, as containerd and docker do): the paths are rewritten relative
 *      to their longest common directory (`<root>/snapshots`), so a lower costs `<id>/fs:` (5-8
 *      bytes: 500 layers fit), and a short-lived child process whose working directory is that
 *      directory makes the mount(2) call. A child, because chdir() in this multithreaded process
 *      would change the working directory of every thread.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import * as sys from './native.js';
import type { Mount } from './snapshotter.js';

const PAGE_LIMIT = 4095; // bytes of option data, the terminating NUL takes the last one

const flagTable: Record<string, { set?: number; clear?: number }> = {
  ro: { set: sys.MS_RDONLY },
  rw: { clear: sys.MS_RDONLY },
  nosuid: { set: sys.MS_NOSUID },
  suid: { clear: sys.MS_NOSUID },
  nodev: { set: sys.MS_NODEV },
  dev: { clear: sys.MS_NODEV },
  noexec: { set: sys.MS_NOEXEC },
  exec: { clear: sys.MS_NOEXEC },
  sync: { set: sys.MS_SYNCHRONOUS },
  async: { clear: sys.MS_SYNCHRONOUS },
  dirsync: { set: sys.MS_DIRSYNC },
  noatime: { set: sys.MS_NOATIME },
  atime: { clear: sys.MS_NOATIME },
  nodiratime: { set: sys.MS_NODIRATIME },
  diratime: { clear: sys.MS_NODIRATIME },
  relatime: { set: sys.MS_RELATIME },
  norelatime: { clear: sys.MS_RELATIME },
  strictatime: { set: sys.MS_STRICTATIME },
  bind: { set: sys.MS_BIND },
  rbind: { set: sys.MS_BIND | sys.MS_REC },
  remount: { set: sys.MS_REMOUNT },
  defaults: {},
};

const propagationTable: Record<string, number> = {
  private: sys.MS_PRIVATE,
  rprivate: sys.MS_PRIVATE | sys.MS_REC,
  shared: sys.MS_SHARED,
  rshared: sys.MS_SHARED | sys.MS_REC,
  slave: sys.MS_SLAVE,
  rslave: sys.MS_SLAVE | sys.MS_REC,
  unbindable: sys.MS_UNBINDABLE,
  runbindable: sys.MS_UNBINDABLE | sys.MS_REC,
};

export interface ParsedOptions {
  flags: number;
  propagation: number;
  data: string[];
}

export function parseOptions(options: string[]): ParsedOptions {
  let flags = 0;
  let propagation = 0;
  const data: string[] = [];
  for (const o of options) {
    const f = flagTable[o];
    if (f) {
      flags = (flags | (f.set ?? 0)) & ~(f.clear ?? 0);
    } else if (propagationTable[o] !== undefined) {
      propagation |= propagationTable[o];
    } else {
      data.push(o);
    }
  }
  return { flags, propagation, data };
}

export type LongOptionStrategy = 'auto' | 'fsconfig' | 'relative';

export interface MountOptions {
  /** How an overlay whose options exceed one page is mounted (default 'auto': fsconfig, then relative). */
  longOptions?: LongOptionStrategy;
}

/** Mount each entry of `mounts` on `target`, in order. On failure, what was mounted is undone. */
export async function mount(mounts: Mount[], target: string, options: MountOptions = {}): Promise<void> {
  const abs = resolve(target);
  let done = 0;
  try {
    for (const m of mounts) {
      await mountOne(m, abs, options.longOptions ?? 'auto');
      done++;
    }
  } catch (err) {
    for (; done > 0; done--) {
      try {
        sys.umount2(abs, sys.MNT_DETACH);
      } catch {
        /* best effort */
      }
    }
    throw err;
  }
}

async function mountOne(m: Mount, target: string, strategy: LongOptionStrategy): Promise<void> {
  const { flags, propagation, data } = parseOptions(m.options);
  if (flags & sys.MS_BIND) {
    // A bind ignores every flag but MS_REC on its first call: read-only etc. need a remount.
    sys.mount(m.source, target, null, flags & (sys.MS_BIND | sys.MS_REC), null);
    const extra = flags & ~(sys.MS_BIND | sys.MS_REC | sys.MS_REMOUNT);
    if (extra !== 0) {
      try {
        sys.mount('none', target, null, sys.MS_REMOUNT | sys.MS_BIND | extra, null);
      } catch (err) {
        sys.umount2(target, sys.MNT_DETACH);
        throw err;
      }
    }
  } else {
    const joined = data.join(',');
    if (m.type === 'overlay' && Buffer.byteLength(joined) > PAGE_LIMIT) {
      await mountLongOverlay(m, data, flags, target, strategy);
    } else {
      sys.mount(m.source, target, m.type, flags, joined.length > 0 ? joined : null);
    }
  }
  if (propagation !== 0) sys.mount('none', target, null, propagation, null);
}

const overlayPathKeys = new Set(['lowerdir', 'upperdir', 'workdir']);

async function mountLongOverlay(m: Mount, data: string[], flags: number, target: string, strategy: LongOptionStrategy): Promise<void> {
  if (strategy === 'auto' || strategy === 'fsconfig') {
    try {
      mountWithFsconfig(m, data, flags, target);
      return;
    } catch (err) {
      // ENOSYS: no new mount API; EINVAL: no `lowerdir+` (kernel < 6.8).
      if (strategy === 'fsconfig' || !['ENOSYS', 'EINVAL', 'EPERM'].includes(sys.errnoCode(err) ?? '')) throw err;
    }
  }
  await mountRelative(m, data, flags, target);
}

function mountWithFsconfig(m: Mount, data: string[], flags: number, target: string): void {
  const pairs: Array<[string, string | null]> = [];
  for (const o of data) {
    const eq = o.indexOf('=');
    const key = eq < 0 ? o : o.slice(0, eq);
    const value = eq < 0 ? null : o.slice(eq + 1);
    if (key === 'lowerdir' && value !== null) {
      for (const dir of value.split(':')) pairs.push(['lowerdir+', dir]);
    } else {
      pairs.push([key, value]);
    }
  }
  let attrs = 0;
  if (flags & sys.MS_RDONLY) attrs |= sys.MOUNT_ATTR_RDONLY;
  if (flags & sys.MS_NOSUID) attrs |= sys.MOUNT_ATTR_NOSUID;
  if (flags & sys.MS_NODEV) attrs |= sys.MOUNT_ATTR_NODEV;
  if (flags & sys.MS_NOEXEC) attrs |= sys.MOUNT_ATTR_NOEXEC;
  sys.fsMount(m.type, m.source, pairs, attrs, target);
}

/** The longest common directory of absolute paths (component-wise). */
export function commonDir(paths: string[]): string {
  const split = paths.map((p) => p.split(sep));
  const first = split[0] ?? [];
  let n = first.length - 1; // a directory above the first path at least
  for (const parts of split) {
    let i = 0;
    while (i < n && i < parts.length - 1 && parts[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n).join(sep) || sep;
}

/** Rewrite overlay options with paths relative to their common directory. */
export function relativeOverlayOptions(data: string[]): { cwd: string; data: string[] } {
  const paths: string[] = [];
  for (const o of data) {
    const [key, value] = splitOption(o);
    if (overlayPathKeys.has(key) && value !== null) paths.push(...value.split(':'));
  }
  if (paths.length === 0 || !paths.every(isAbsolute)) throw new Error('overlay: relative mounting needs absolute lowerdir/upperdir/workdir paths');
  const cwd = commonDir(paths);
  const strip = (p: string): string => (cwd === sep ? p.slice(1) : p.slice(cwd.length + 1));
  const out = data.map((o) => {
    const [key, value] = splitOption(o);
    return overlayPathKeys.has(key) && value !== null ? `${key}=${value.split(':').map(strip).join(':')}` : o;
  });
  return { cwd, data: out };
}

function splitOption(o: string): [string, string | null] {
  const eq = o.indexOf('=');
  return eq < 0 ? [o, null] : [o.slice(0, eq), o.slice(eq + 1)];
}

async function mountRelative(m: Mount, data: string[], flags: number, target: string): Promise<void> {
  const rel = relativeOverlayOptions(data);
  const joined = rel.data.join(',');
  if (Buffer.byteLength(joined) > PAGE_LIMIT) {
    throw new Error(`overlay: ${Buffer.byteLength(joined)} bytes of options do not fit in a page even with relative paths (too many layers)`);
  }
  const child = fileURLToPath(new URL('./mount-child.js', import.meta.url));
  const request = JSON.stringify({ source: m.source, target, fstype: m.type, flags, data: joined });
  // Loaded on this rare path only: the container runtime's init mounts through this module, and
  // child_process (with net and its streams) would cost every container start a few ms.
  const { execFile } = await import('node:child_process');
  try {
    await promisify(execFile)(process.execPath, [child, request], { cwd: rel.cwd, timeout: 30_000 });
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(`overlay mount with relative paths from ${rel.cwd} failed: ${stderr || (err as Error).message}`, { cause: err });
  }
}

/** Unmount `target`; `all` repeats until nothing is mounted there; `detach` is MNT_DETACH. */
export async function unmount(target: string, options: { detach?: boolean; all?: boolean } = {}): Promise<void> {
  const abs = resolve(target);
  const flags = options.detach ? sys.MNT_DETACH : 0;
  for (let first = true; ; first = false) {
    try {
      sys.umount2(abs, flags);
    } catch (err) {
      const code = sys.errnoCode(err);
      // EINVAL: not a mount point; ENOENT: gone. An error only when nothing at all was unmounted.
      if (!first && (code === 'EINVAL' || code === 'ENOENT')) return;
      throw err;
    }
    if (!options.all) return;
  }
}

/** Is `path` a mount point (of this process's mount namespace)? */
export async function isMountPoint(path: string): Promise<boolean> {
  const abs = resolve(path);
  return (await mountInfo()).some((e) => e.mountPoint === abs);
}

interface MountInfoEntry {
  /** major:minor of the filesystem. */
  dev: string;
  /** The directory of the filesystem that is mounted (not '/' for bind mounts). */
  root: string;
  mountPoint: string;
  fstype: string;
  superOptions: string;
}

function unescapeMountInfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

export async function mountInfo(): Promise<MountInfoEntry[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const out: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [pre, post] = line.split(' - ');
    const fields = (pre ?? '').split(' ');
    const tail = (post ?? '').split(' ');
    out.push({
      dev: fields[2] ?? '',
      root: unescapeMountInfo(fields[3] ?? ''),
      mountPoint: unescapeMountInfo(fields[4] ?? ''),
      fstype: tail[0] ?? '',
      superOptions: unescapeMountInfo(tail[2] ?? ''),
    });
  }
  return out;
}

const under = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

/**
 * Mounts that use `dir`: mount points at or below it, overlays naming a path below it as a
 * lower, upper or work dir, and bind mounts of a directory at or below it (found through the
 * mount's root within its filesystem).
 */
export async function busyPaths(dir: string): Promise<string[]> {
  const abs = resolve(dir);
  const prefix = abs.endsWith(sep) ? abs : abs + sep;
  const entries = await mountInfo();
  // The mount that holds `dir`, and `dir`'s path within that filesystem.
  let host: MountInfoEntry | undefined;
  for (const e of entries) if (under(abs, e.mountPoint) && (!host || e.mountPoint.length >= host.mountPoint.length)) host = e;
  const inFs = host ? join(host.root, relative(host.mountPoint, abs)) : undefined;
  const out: string[] = [];
  for (const e of entries) {
    if (under(e.mountPoint, abs)) out.push(e.mountPoint);
    else if (e.fstype === 'overlay' && e.superOptions.includes(prefix)) out.push(e.mountPoint);
    else if (host && inFs !== undefined && e !== host && e.dev === host.dev && under(e.root, inFs)) out.push(e.mountPoint);
  }
  return out;
}
