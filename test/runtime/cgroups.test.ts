/**
 * Resource limits through real cgroups (this machine: v1, or v2 where that is the layout): a
 * memory limit ends in an OOM kill (137, OOMKilled), a pids limit contains a fork loop, CPU
 * quota and shares are written and throttle a busy loop, and the cgroup goes with the container.
 * Also the v2 directory lifecycle on a real cgroup2 mount even when it has no controllers (the
 * hybrid layout's /sys/fs/cgroup/unified); the v2 limit files are unit-tested in
 * engine/runtime/cgroups-v2.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { cgroupLayout, openCgroup, parseProcCgroup, resolveCgroupPaths, type CgroupLayout } from '../../engine/runtime/cgroups.js';
import { need } from '../helpers/env.js';
import { RuntimeFixture } from './fixture.js';

const isRoot = (): boolean => process.getuid?.() === 0;
const fx = RuntimeFixture.use({ before, after }, isRoot);

const read = (dir: string | undefined, file: string): string => readFileSync(`${dir}/${file}`, 'utf8').trim();

test('memory limit: a process that keeps allocating is OOM-killed, exit 137, OOMKilled true', async (t) => {
  if (!need(t, { root: true })) return;
  const r = await fx.run(t, { memory: '16m', cmd: ['tail', '/dev/zero'] });
  assert.equal(r.exitCode, 137);
  assert.equal(r.oomKilled, true);
  // Under the limit nothing is killed, and OOMKilled stays false.
  const ok = await fx.run(t, { memory: '64m', cmd: ['sh', '-c', 'head -c 1000000 /dev/zero | wc -c'] });
  assert.equal(ok.exitCode, 0);
  assert.equal(ok.oomKilled, false);
  assert.equal(ok.stdout.trim(), '1000000');
});

test('pids limit contains a fork loop', async (t) => {
  if (!need(t, { root: true })) return;
  // 30 background sleeps wanted; with 8 tasks allowed, sh (1) gets 7 and then fork fails.
  const r = await fx.run(t, { pidsLimit: 8, cmd: ['sh', '-c', 'i=0; while [ $i -lt 30 ]; do sleep 30 & i=$((i+1)); echo $i; done; echo all-forked'] });
  assert.notEqual(r.exitCode, 0);
  assert.match(r.stderr, /can't fork/);
  assert.ok(!r.stdout.includes('all-forked'));
  const forked = Number(r.stdout.trim().split('\n').at(-1));
  assert.ok(forked >= 6 && forked <= 7, `${forked} children forked under a limit of 8`);
});

test('limits are written to the container cgroup, the process is in it, and remove deletes it', async (t) => {
  if (!need(t, { root: true })) return;
  const c = await fx.create(t, { memory: '32m', memorySwap: '48m', cpus: 0.5, cpuShares: 512, pidsLimit: 20, cmd: ['sleep', '1000'] });
  const { pid } = await c.start();
  const cg = c.config.cgroup;
  const own = parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  if (cg.version === 1) {
    assert.equal(read(cg.dirs['memory'], 'memory.limit_in_bytes'), String(32 * 1024 * 1024));
    if (existsSync(`${cg.dirs['memory']}/memory.memsw.limit_in_bytes`)) assert.equal(read(cg.dirs['memory'], 'memory.memsw.limit_in_bytes'), String(48 * 1024 * 1024));
    assert.equal(read(cg.dirs['cpu'], 'cpu.cfs_quota_us'), '50000');
    assert.equal(read(cg.dirs['cpu'], 'cpu.cfs_period_us'), '100000');
    assert.equal(read(cg.dirs['cpu'], 'cpu.shares'), '512');
    assert.equal(read(cg.dirs['pids'], 'pids.max'), '20');
    assert.match(read(cg.dirs['devices'], 'devices.list'), /^c 1:3 rwm$/m);
    for (const controller of ['memory', 'cpu', 'cpuacct', 'pids', 'devices']) assert.ok(own.get(controller)?.endsWith(`/${c.id}`), `${controller}: ${own.get(controller)}`);
    // The init's main thread joined alone (it is the one that exec'd): through `tasks`.
    assert.deepEqual(openCgroup(cg).joinFiles(), Object.values(cg.dirs).map((d) => `${d}/tasks`));
  } else {
    const dir = cg.dirs['unified'];
    assert.equal(read(dir, 'memory.max'), String(32 * 1024 * 1024));
    assert.equal(read(dir, 'cpu.max'), '50000 100000');
    assert.equal(read(dir, 'pids.max'), '20');
    assert.ok(own.get('')?.endsWith(`/${c.id}`));
  }
  assert.deepEqual(openCgroup(cg).pids(), [pid]);
  // An exec process joins every hierarchy too (its main thread, like the init's).
  const e = await c.exec({ cmd: ['sleep', '1000'] });
  e.exit.catch(() => {});
  const execOwn = parseProcCgroup(readFileSync(`/proc/${e.pid}/cgroup`, 'utf8'));
  for (const controller of cg.version === 1 ? ['memory', 'cpu', 'cpuacct', 'pids', 'devices'] : ['']) assert.ok(execOwn.get(controller)?.endsWith(`/${c.id}`), `exec ${controller}: ${execOwn.get(controller)}`);
  await c.remove({ force: true });
  for (const dir of Object.values(cg.dirs)) assert.equal(existsSync(dir), false, `${dir} left behind`);
});

test('--cpus throttles a busy loop', async (t) => {
  if (!need(t, { root: true })) return;
  const c = await fx.create(t, { cpus: 0.2, cmd: ['sh', '-c', 'while :; do :; done'] });
  await c.start();
  await new Promise((r) => setTimeout(r, 1000));
  const cg = c.config.cgroup;
  let used: number;
  let throttled: number;
  if (cg.version === 1) {
    used = Number(read(cg.dirs['cpuacct'] ?? cg.dirs['cpu'], 'cpuacct.usage')) / 1e9;
    throttled = Number(/nr_throttled (\d+)/.exec(read(cg.dirs['cpu'], 'cpu.stat'))?.[1]);
  } else {
    const stat = read(cg.dirs['unified'], 'cpu.stat');
    used = Number(/usage_usec (\d+)/.exec(stat)?.[1]) / 1e6;
    throttled = Number(/nr_throttled (\d+)/.exec(stat)?.[1]);
  }
  await c.kill();
  await c.wait();
  assert.ok(throttled > 0, 'the CFS quota throttled the loop');
  assert.ok(used < 0.6, `${used.toFixed(2)} s of CPU in about 1 s at --cpus 0.2`);
});

test('cgroup v2 directories on a real cgroup2 mount: create, join, remove', async (t) => {
  if (!need(t, { root: true })) return;
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(' - cgroup2 '));
  const mount = mounts[0]?.split(' ')[4];
  if (!mount) {
    t.skip('no cgroup2 mount on this machine');
    return;
  }
  const layout: CgroupLayout = { version: 2, mount };
  const own = parseProcCgroup(readFileSync('/proc/self/cgroup', 'utf8'));
  const paths = resolveCgroupPaths(`${fx.cgroupParent}-v2`, 'c1', layout, own);
  const cg = openCgroup(paths);
  const parentDir = paths.dirs['unified']!.replace(/\/c1$/, '');
  t.after(async () => {
    await cg.remove().catch(() => {});
    await openCgroup({ version: 2, mount, dirs: { unified: parentDir } }).remove().catch(() => {});
  });
  cg.create({ memory: 32 * 1024 * 1024, pidsLimit: 10 });
  assert.ok(existsSync(paths.dirs['unified']!));
  const controllers = readFileSync(`${mount}/cgroup.controllers`, 'utf8').trim().split(/\s+/);
  if (controllers.includes('memory')) assert.equal(read(paths.dirs['unified'], 'memory.max'), String(32 * 1024 * 1024));
  const sleeper = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.after(() => sleeper.kill('SIGKILL'));
  const [procs] = cg.procsFiles();
  writeFileSync(procs!, String(sleeper.pid));
  assert.deepEqual(cg.pids(), [sleeper.pid]);
  assert.equal(cg.oomKilled(), false);
  sleeper.kill('SIGKILL');
  await new Promise((r) => sleeper.once('exit', r));
  await cg.remove();
  assert.equal(existsSync(paths.dirs['unified']!), false);
  await openCgroup({ version: 2, mount, dirs: { unified: parentDir } }).remove();
});

test('the cgroup layout of this machine is understood', (t) => {
  if (!need(t, { root: true })) return;
  const layout = cgroupLayout();
  if (layout.version === 1) for (const c of ['memory', 'cpu', 'pids']) assert.ok(layout.mounts[c], `no v1 ${c} hierarchy found`);
  else assert.ok(existsSync(`${layout.mount}/cgroup.controllers`));
});

test('leaves no cgroups, mounts or shims of its own behind', (t) => {
  if (!need(t, { root: true })) return;
  fx.assertNoLeftovers();
});
