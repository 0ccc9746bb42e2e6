/**
 * cgroup v1: one directory per controller hierarchy. Limits: memory.limit_in_bytes (+ memsw when
 * swap accounting is on), cpu.cfs_quota_us / cpu.cfs_period_us, cpu.shares, pids.max; the devices
 * controller gets docker's default allow list (so CAP_MKNOD cannot open host disks).
 */
import { existsSync } from 'node:fs';
import type { Cgroup, CgroupPaths, CgroupResources } from './cgroups.js';
import { keyedValue, makeDir, pidsIn, readControl, removeDir, writeControl } from './cgroup-files.js';

/** The v1 controllers a container joins. */
export const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'pids', 'devices'] as const;

export const CFS_PERIOD_US = 100_000;

/** docker's default device rules: the standard /dev nodes, ptys, and mknod (only) of anything. */
export const DEFAULT_DEVICE_RULES = [
  'c *:* m',
  'b *:* m',
  'c 1:3 rwm', // null
  'c 1:5 rwm', // zero
  'c 1:7 rwm', // full
  'c 1:8 rwm', // random
  'c 1:9 rwm', // urandom
  'c 5:0 rwm', // tty
  'c 5:1 rwm', // console
  'c 5:2 rwm', // ptmx
  'c 136:* rwm', // pts
  'c 10:200 rwm', // tun
];

export class V1Cgroup implements Cgroup {
  readonly version = 1 as const;
  constructor(readonly paths: CgroupPaths) {}

  private dir(controller: string): string | undefined {
    return this.paths.dirs[controller];
  }

  create(r: CgroupResources): void {
    for (const dir of Object.values(this.paths.dirs)) makeDir(dir);
    const mem = this.dir('memory');
    if (mem) {
      const limit = r.memory ?? -1;
      const swap = r.memory === undefined ? -1 : (r.memorySwap ?? r.memory * 2);
      const hasSwap = existsSync(`${mem}/memory.memsw.limit_in_bytes`);
      // memsw must stay >= memory: widen memsw first, then set memory, then narrow memsw.
      if (hasSwap) writeControl(mem, 'memory.memsw.limit_in_bytes', -1);
      writeControl(mem, 'memory.limit_in_bytes', limit);
      if (hasSwap) writeControl(mem, 'memory.memsw.limit_in_bytes', swap);
    }
    const cpu = this.dir('cpu');
    if (cpu) {
      writeControl(cpu, 'cpu.cfs_period_us', CFS_PERIOD_US);
      writeControl(cpu, 'cpu.cfs_quota_us', r.cpus === undefined ? -1 : Math.round(r.cpus * CFS_PERIOD_US));
      writeControl(cpu, 'cpu.shares', r.cpuShares ?? 1024);
    }
    const pids = this.dir('pids');
    if (pids) writeControl(pids, 'pids.max', r.pidsLimit === undefined ? 'max' : r.pidsLimit);
    const devices = this.dir('devices');
    if (devices) {
      writeControl(devices, 'devices.deny', 'a');
      for (const rule of DEFAULT_DEVICE_RULES) writeControl(devices, 'devices.allow', rule);
    }
  }

  procsFiles(): string[] {
    return Object.values(this.paths.dirs).map((d) => `${d}/cgroup.procs`);
  }

  joinFiles(): string[] {
    return Object.values(this.paths.dirs).map((d) => `${d}/tasks`);
  }

  oomKilled(): boolean {
    const mem = this.dir('memory');
    if (!mem) return false;
    const killed = keyedValue(readControl(mem, 'memory.oom_control'), 'oom_kill');
    if (killed !== undefined) return killed > 0;
    // Kernels before 4.13 have no oom_kill counter: hitting the limit is the best evidence.
    return Number((readControl(mem, 'memory.failcnt') ?? '0').trim()) > 0;
  }

  pids(): number[] {
    const d = this.dir('pids') ?? this.dir('memory') ?? Object.values(this.paths.dirs)[0];
    return d ? pidsIn(d) : [];
  }

  async remove(): Promise<void> {
    for (const dir of Object.values(this.paths.dirs)) await removeDir(dir);
  }
}
