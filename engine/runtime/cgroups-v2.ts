/**
 * cgroup v2 (unified): one directory. The controllers a container needs are enabled in
 * cgroup.subtree_control of every ancestor below the mount (as far as the root offers them), then
 * limits go to memory.max / memory.swap.max, cpu.max, cpu.weight and pids.max.
 */
import { posix } from 'node:path';
import type { Cgroup, CgroupPaths, CgroupResources } from './cgroups.js';
import { keyedValue, makeDir, pidsIn, readControl, removeDir, writeControl } from './cgroup-files.js';

export const V2_CONTROLLERS = ['cpu', 'memory', 'pids'] as const;
export const CPU_PERIOD_US = 100_000;

/** runc's mapping of cpu.shares (2..262144) to cpu.weight (1..10000). */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

export class V2Cgroup implements Cgroup {
  readonly version = 2 as const;
  private readonly dir: string;
  private readonly mount: string;

  constructor(readonly paths: CgroupPaths) {
    const dir = paths.dirs['unified'];
    if (!dir || !paths.mount) throw new Error('cgroup v2 paths need a mount and a unified directory');
    this.dir = dir;
    this.mount = paths.mount;
  }

  /** Controllers the hierarchy's root offers, of those a container uses. */
  private available(): string[] {
    const offered = (readControl(this.mount, 'cgroup.controllers') ?? '').split(/\s+/);
    return V2_CONTROLLERS.filter((c) => offered.includes(c));
  }

  create(r: CgroupResources): void {
    const controllers = this.available();
    // Every directory from the mount down to the container's parent delegates the controllers.
    const rel = posix.relative(this.mount, this.dir);
    if (rel.startsWith('..') || rel === '') throw new Error(`cgroup ${this.dir} is not below ${this.mount}`);
    let cur = this.mount;
    for (const part of rel.split('/')) {
      if (controllers.length > 0) writeControl(cur, 'cgroup.subtree_control', controllers.map((c) => `+${c}`).join(' '));
      cur = posix.join(cur, part);
      makeDir(cur);
    }
    if (controllers.includes('memory')) {
      writeControl(this.dir, 'memory.max', r.memory ?? 'max');
      const swap = r.memory === undefined || r.memorySwap === -1 ? 'max' : (r.memorySwap ?? r.memory * 2) - r.memory;
      try {
        writeControl(this.dir, 'memory.swap.max', swap);
      } catch (err) {
        // Kernels without swap support have no memory.swap.max: the memory limit alone applies.
        if (readControl(this.dir, 'memory.max') === undefined) throw err;
      }
    }
    if (controllers.includes('cpu')) {
      writeControl(this.dir, 'cpu.max', `${r.cpus === undefined ? 'max' : Math.round(r.cpus * CPU_PERIOD_US)} ${CPU_PERIOD_US}`);
      writeControl(this.dir, 'cpu.weight', r.cpuShares === undefined ? 100 : sharesToWeight(r.cpuShares));
    }
    if (controllers.includes('pids')) writeControl(this.dir, 'pids.max', r.pidsLimit ?? 'max');
  }

  procsFiles(): string[] {
    return [`${this.dir}/cgroup.procs`];
  }

  joinFiles(): string[] {
    return this.procsFiles();
  }

  oomKilled(): boolean {
    return (keyedValue(readControl(this.dir, 'memory.events'), 'oom_kill') ?? 0) > 0;
  }

  pids(): number[] {
    return pidsIn(this.dir);
  }

  async remove(): Promise<void> {
    await removeDir(this.dir);
  }
}
