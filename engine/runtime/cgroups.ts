/**
 * cgroups behind one small interface, for v1 (one hierarchy per controller, also the "hybrid"
 * layout with an extra cgroup2 mount that has no controllers) and v2 (unified).
 *
 * A container's cgroup is described by a serialisable `CgroupPaths` (the version and one absolute
 * directory per hierarchy), resolved once when the container is created and stored in its
 * config: the shim and `remove` reopen it from there.
 *
 * Where: `parent` is docker's --cgroup-parent. Absolute ("/tsdocker", the default, like docker's
 * "/docker") means the same path below every hierarchy's root; relative ("tests/x") is below the
 * caller's own cgroup in each hierarchy (as read from /proc/self/cgroup), which keeps a test's
 * containers inside the test's own (memory) cgroup.
 */
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { V1Cgroup, V1_CONTROLLERS } from './cgroups-v1.js';
import { V2Cgroup } from './cgroups-v2.js';

export interface CgroupResources {
  memory?: number;
  memorySwap?: number;
  cpus?: number;
  cpuShares?: number;
  pidsLimit?: number;
}

export interface CgroupPaths {
  version: 1 | 2;
  /** v1: controller -> directory; v2: { unified: directory }. */
  dirs: Record<string, string>;
  /** v2 only: the mount point, up to which ancestors get controllers enabled. */
  mount?: string;
}

export interface Cgroup {
  readonly version: 1 | 2;
  readonly paths: CgroupPaths;
  /** Make the directories (idempotent) and write the limits. */
  create(resources: CgroupResources): void;
  /** The cgroup.procs files a process writes "0" into to move itself in (one per hierarchy). */
  procsFiles(): string[];
  /**
   * The files the calling thread writes "0" into to move itself in (one per hierarchy), for the
   * init and exec processes, which need only their main thread in: it is the one that execs,
   * and the other threads end with the execve. v1: `tasks`, a one-thread move, which takes no
   * global lock, where moving a whole process (cgroup.procs) first waits for an RCU grace period
   * (5-16 ms here). v2: cgroup.procs (a domain cgroup takes whole processes only).
   */
  joinFiles(): string[];
  /** Has the kernel OOM-killed a process in this cgroup? */
  oomKilled(): boolean;
  /** PIDs of the processes in it (host view). */
  pids(): number[];
  /** Remove the directories (waits briefly while dying processes leave). Missing ones are fine. */
  remove(): Promise<void>;
}

export type CgroupLayout = { version: 2; mount: string } | { version: 1; mounts: Record<string, string> };

/** Parse /proc/self/mountinfo into the cgroup layout (which version, where each controller is). */
export function parseCgroupLayout(mountinfo: string): CgroupLayout {
  const v1: Record<string, string> = {};
  let v2: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const mountPoint = pre.split(' ')[4] ?? '';
    const [fstype, , superOpts = ''] = post.split(' ');
    if (fstype === 'cgroup2') v2 ??= mountPoint;
    else if (fstype === 'cgroup') {
      for (const opt of superOpts.split(',')) if ((V1_CONTROLLERS as readonly string[]).includes(opt)) v1[opt] ??= mountPoint;
    }
  }
  if (Object.keys(v1).length > 0) return { version: 1, mounts: v1 };
  if (v2 !== undefined) return { version: 2, mount: v2 };
  throw new Error('no cgroup filesystem is mounted');
}

let layoutCache: CgroupLayout | undefined;

export function cgroupLayout(): CgroupLayout {
  layoutCache ??= parseCgroupLayout(readFileSync('/proc/self/mountinfo', 'utf8'));
  return layoutCache;
}

/** Parse /proc/<pid>/cgroup: controller (or '' for v2) -> path. */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, , list = '', path = '/'] = m;
    if (list === '') out.set('', path);
    for (const c of list.split(',')) if (c) out.set(c, path);
  }
  return out;
}

/** Resolve a container's cgroup directories: `parent` (see above) / `name`. */
export function resolveCgroupPaths(parent: string, name: string, layout: CgroupLayout = cgroupLayout(), own: Map<string, string> = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'))): CgroupPaths {
  if (!/^[\w.-]+$/.test(name) || name === '.' || name === '..') throw new Error(`invalid cgroup name ${JSON.stringify(name)}`);
  if (parent.split('/').some((p) => p === '..' || p === '.')) throw new Error(`invalid cgroup parent ${JSON.stringify(parent)}`);
  const rel = (base: string): string => {
    const p = posix.normalize(posix.isAbsolute(parent) ? posix.join(parent, name) : posix.join(base, parent, name));
    if (!posix.isAbsolute(p) || p === '/' || p.split('/').includes('..')) throw new Error(`invalid cgroup parent ${JSON.stringify(parent)}`);
    return p;
  };
  if (layout.version === 2) {
    return { version: 2, mount: layout.mount, dirs: { unified: posix.join(layout.mount, rel(own.get('') ?? '/')) } };
  }
  const dirs: Record<string, string> = {};
  for (const [controller, mount] of Object.entries(layout.mounts)) dirs[controller] = posix.join(mount, rel(own.get(controller) ?? '/'));
  return { version: 1, dirs };
}

export function openCgroup(paths: CgroupPaths): Cgroup {
  return paths.version === 2 ? new V2Cgroup(paths) : new V1Cgroup(paths);
}
