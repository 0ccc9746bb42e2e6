/**
 * The cgroup v2 writer against a directory laid out like a cgroup2 mount. A real cgroup2 mount
 * with controllers is not available on a cgroup-v1/hybrid machine (the controllers are bound to
 * v1), so the files the writer produces are checked here; test/runtime/cgroups.test.ts runs the
 * directory lifecycle on the real (controller-less) cgroup2 mount.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { openCgroup, parseCgroupLayout, parseProcCgroup, resolveCgroupPaths } from './cgroups.js';
import { sharesToWeight } from './cgroups-v2.js';

function fakeMount(t: { after(fn: () => void): void }, controllers: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsd-cg2-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'cgroup.controllers'), `${controllers}\n`);
  return dir;
}

const read = (p: string): string => readFileSync(p, 'utf8');

test('v2: controllers are delegated down the path and the limits written', (t) => {
  const mount = fakeMount(t, 'cpuset cpu io memory hugetlb pids rdma misc');
  const paths = resolveCgroupPaths('/tsdocker', 'abc', { version: 2, mount }, new Map([['', '/system.slice/x.service']]));
  assert.deepEqual(paths, { version: 2, mount, dirs: { unified: join(mount, 'tsdocker/abc') } }, 'an absolute parent ignores the own cgroup');
  const cg = openCgroup(paths);
  cg.create({ memory: 64 * 1024 * 1024, memorySwap: 96 * 1024 * 1024, cpus: 1.5, cpuShares: 512, pidsLimit: 100 });
  assert.equal(read(join(mount, 'cgroup.subtree_control')), '+cpu +memory +pids');
  assert.equal(read(join(mount, 'tsdocker/cgroup.subtree_control')), '+cpu +memory +pids');
  assert.equal(existsSync(join(mount, 'tsdocker/abc/cgroup.subtree_control')), false, 'the leaf delegates nothing');
  const leaf = join(mount, 'tsdocker/abc');
  assert.equal(read(join(leaf, 'memory.max')), String(64 * 1024 * 1024));
  assert.equal(read(join(leaf, 'memory.swap.max')), String(32 * 1024 * 1024), 'swap = memory-swap minus memory');
  assert.equal(read(join(leaf, 'cpu.max')), '150000 100000');
  assert.equal(read(join(leaf, 'cpu.weight')), String(sharesToWeight(512)));
  assert.equal(read(join(leaf, 'pids.max')), '100');
  assert.deepEqual(cg.procsFiles(), [join(leaf, 'cgroup.procs')]);
  assert.deepEqual(cg.joinFiles(), [join(leaf, 'cgroup.procs')], 'a domain cgroup takes whole processes');
});

test('v2: defaults without limits, docker swap default, only offered controllers, OOM from memory.events', async (t) => {
  const mount = fakeMount(t, 'cpu pids');
  const cg = openCgroup(resolveCgroupPaths('ci/jobs', 'c1', { version: 2, mount }, new Map([['', '/user.slice']])));
  const leaf = join(mount, 'user.slice/ci/jobs/c1');
  assert.deepEqual(cg.paths.dirs, { unified: leaf }, 'a relative parent is below the own cgroup');
  cg.create({});
  assert.equal(read(join(mount, 'user.slice/ci/cgroup.subtree_control')), '+cpu +pids');
  assert.equal(read(join(leaf, 'cpu.max')), 'max 100000');
  assert.equal(read(join(leaf, 'cpu.weight')), '100');
  assert.equal(read(join(leaf, 'pids.max')), 'max');
  assert.equal(existsSync(join(leaf, 'memory.max')), false, 'memory is not offered: no memory files');

  const mem = openCgroup(resolveCgroupPaths('/d', 'c2', { version: 2, mount: fakeMount(t, 'memory') }));
  mem.create({ memory: 10 * 1024 * 1024 });
  const dir = mem.paths.dirs['unified']!;
  assert.equal(read(join(dir, 'memory.swap.max')), String(10 * 1024 * 1024), 'docker: swap as large as memory by default');
  assert.equal(mem.oomKilled(), false);
  writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n');
  assert.equal(mem.oomKilled(), true);
  const unlimited = openCgroup(resolveCgroupPaths('/d', 'c3', { version: 2, mount: fakeMount(t, 'memory') }));
  unlimited.create({ memory: 10 * 1024 * 1024, memorySwap: -1 });
  assert.equal(read(join(unlimited.paths.dirs['unified']!, 'memory.swap.max')), 'max');
  // remove() rmdirs the leaf (a real cgroupfs has no files to delete first).
  for (const f of ['memory.events', 'memory.max', 'memory.swap.max']) rmSync(join(dir, f));
  await mem.remove();
  assert.equal(existsSync(dir), false);
  await mem.remove(); // already gone: fine
});

test('cpu.shares map to cpu.weight like runc', () => {
  assert.equal(sharesToWeight(2), 1);
  assert.equal(sharesToWeight(1024), 39);
  assert.equal(sharesToWeight(262144), 10000);
});

test('layout and /proc/self/cgroup parsing: v1 hybrid, pure v2, bad parents refused', () => {
  const hybrid = [
    '35 25 0:30 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755',
    '36 35 0:31 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
    '37 35 0:32 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct',
    '38 35 0:33 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
    '39 35 0:34 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids',
    '40 35 0:35 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd',
  ].join('\n');
  assert.deepEqual(parseCgroupLayout(hybrid), { version: 1, mounts: { cpu: '/sys/fs/cgroup/cpu,cpuacct', cpuacct: '/sys/fs/cgroup/cpu,cpuacct', memory: '/sys/fs/cgroup/memory', pids: '/sys/fs/cgroup/pids' } });
  assert.deepEqual(parseCgroupLayout('30 25 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate'), { version: 2, mount: '/sys/fs/cgroup' });
  assert.throws(() => parseCgroupLayout('1 0 8:1 / / rw - ext4 /dev/sda rw'), /no cgroup/);
  const own = parseProcCgroup('4:memory:/process_api/x\n3:cpu,cpuacct:/\n0::/init.scope\n');
  assert.deepEqual([...own], [['memory', '/process_api/x'], ['cpu', '/'], ['cpuacct', '/'], ['', '/init.scope']]);
  const v1 = resolveCgroupPaths('t', 'c', { version: 1, mounts: { memory: '/m', cpu: '/c' } }, own);
  assert.deepEqual(v1.dirs, { memory: '/m/process_api/x/t/c', cpu: '/c/t/c' });
  assert.throws(() => resolveCgroupPaths('../../..', 'c', { version: 1, mounts: { memory: '/m' } }, own), /invalid cgroup parent/);
  assert.throws(() => resolveCgroupPaths('/x', '../c', { version: 2, mount: '/m' }, own), /invalid cgroup name/);
});
