/**
 * What a process inside the container sees: PID 1 of its own pid namespace, its hostname, no host
 * processes or files, docker's masked and read-only paths, docker's default capabilities,
 * no_new_privs, a network namespace with only `lo`, a read-only rootfs, bind mounts and tmpfs.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { need } from '../helpers/env.js';
import { RuntimeFixture } from './fixture.js';

const isRoot = (): boolean => process.getuid?.() === 0;
const fx = RuntimeFixture.use({ before, after }, isRoot);

test('the command is PID 1 of a new pid namespace and sees no host process', async (t) => {
  if (!need(t, { root: true })) return;
  const r = await fx.run(t, { cmd: ['sh', '-c', 'echo pid=$$; ps -o pid,comm | tail -n +2 | wc -l; ls /proc | grep -c "^[0-9]"'] });
  assert.equal(r.exitCode, 0, r.stderr);
  const [pid, psCount, procCount] = r.stdout.trim().split('\n');
  assert.equal(pid, 'pid=1');
  // sh, ps, tail and wc: four processes of the container's own, nothing of the host's.
  assert.ok(Number(psCount) <= 4, `ps saw ${psCount} processes`);
  assert.ok(Number(procCount) <= 4, `/proc lists ${procCount} pids`);
  assert.ok(!r.stdout.includes('node'));
});

test('hostname: the container id prefix by default, --hostname, and /etc/hostname and /etc/hosts follow it', async (t) => {
  if (!need(t, { root: true })) return;
  const c = await fx.create(t, { cmd: ['sh', '-c', 'hostname; cat /etc/hostname; grep -c localhost /etc/hosts'] });
  await c.start();
  assert.equal((await c.wait()).exitCode, 0);
  const out = (await readFile(c.logPath, 'utf8')).split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { log: string }).log.trim());
  assert.deepEqual(out.slice(0, 2), [c.id.slice(0, 12), c.id.slice(0, 12)]);
  assert.ok(Number(out[2]) >= 2);
  const named = await fx.run(t, { hostname: 'web-1', cmd: ['hostname'] });
  assert.equal(named.stdout, 'web-1\n');
  assert.notEqual(hostname(), 'web-1', 'the host keeps its own hostname');
});

test('only the rootfs is visible: image files yes, host files no', async (t) => {
  if (!need(t, { root: true })) return;
  const marker = join(fx.dir, 'host-only-marker');
  await writeFile(marker, 'host');
  const r = await fx.run(t, { cmd: ['sh', '-c', `cat /etc/secret-of-image; ls ${marker} 2>&1; ls /; test -e /usr/bin/node && echo HOSTNODE; cat /proc/1/mountinfo | grep -c ' / / '`] });
  assert.equal(r.exitCode, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.equal(lines[0], 'image file');
  assert.match(lines[1] ?? '', /No such file or directory/);
  assert.ok(!r.stdout.includes('HOSTNODE'));
  const top = lines.slice(2).filter((l) => /^[a-z]+$/.test(l));
  for (const d of ['bin', 'dev', 'etc', 'proc', 'sys', 'tmp']) assert.ok(top.includes(d), `/${d} missing: ${top.join(' ')}`);
  assert.ok(!top.includes('work') && !top.includes('usr'), `host directories visible: ${top.join(' ')}`);
});

test('masked paths are empty or /dev/null; read-only paths refuse writes; /sys is read-only; /dev has the standard nodes', async (t) => {
  if (!need(t, { root: true })) return;
  // Which masked paths exist depends on the kernel: check those the host has.
  const masked = ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/proc/interrupts'].filter((p) => existsSync(p));
  const maskedDirs = ['/proc/acpi', '/proc/scsi', '/sys/firmware'].filter((p) => existsSync(p) && readdirSync(p).length > 0);
  assert.ok(masked.length + maskedDirs.length > 0, 'the host has none of the masked paths');
  const script = [
    `for p in ${masked.join(' ')}; do cat $p | wc -c; done`,
    `for p in ${maskedDirs.join(' ')}; do ls $p | wc -l; done`,
    'echo 1 > /proc/sys/kernel/domainname 2>/dev/null && echo WROTE-PROC-SYS || echo ro-proc-sys',
    'echo x > /proc/sysrq-trigger 2>/dev/null && echo WROTE-SYSRQ || echo ro-sysrq',
    'touch /sys/x 2>/dev/null && echo WROTE-SYS || echo ro-sys',
    'ls /dev | tr "\\n" " "; echo',
    'echo hi > /dev/null && head -c 4 /dev/zero | wc -c',
    'grep -E " /proc/(bus|fs|irq|sys) " /proc/self/mountinfo | grep -c " ro,"',
  ].join('; ');
  const r = await fx.run(t, { cmd: ['sh', '-c', script] });
  assert.equal(r.exitCode, 0, r.stderr);
  const l = r.stdout.trim().split('\n').map((s) => s.trim());
  const n = masked.length + maskedDirs.length;
  assert.deepEqual(l.slice(0, n), Array(n).fill('0'), `masked: ${[...masked, ...maskedDirs].join(' ')}`);
  l.splice(0, n);
  assert.deepEqual(l.slice(0, 3), ['ro-proc-sys', 'ro-sysrq', 'ro-sys']);
  const dev = (l[3] ?? '').split(' ');
  for (const d of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'ptmx', 'pts', 'shm', 'mqueue', 'fd', 'stdin', 'stdout', 'stderr']) assert.ok(dev.includes(d), `/dev/${d} missing: ${l[3]}`);
  assert.equal(l[4], '4');
  const readonlyDirs = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys'].filter((p) => existsSync(p));
  assert.equal(l[5], String(readonlyDirs.length), 'read-only bind mounts over /proc/{bus,fs,irq,sys}');
});

test("capabilities are docker's default set; no_new_privs is set; a non-root user has none", async (t) => {
  if (!need(t, { root: true })) return;
  const r = await fx.run(t, { cmd: ['sh', '-c', 'grep -E "^(Cap|NoNewPrivs)" /proc/self/status'] });
  assert.equal(r.exitCode, 0, r.stderr);
  const status = Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split(':\t') as [string, string]));
  assert.equal(status['CapEff'], '00000000a80425fb');
  assert.equal(status['CapPrm'], '00000000a80425fb');
  assert.equal(status['CapBnd'], '00000000a80425fb');
  assert.equal(status['CapInh'], '0000000000000000');
  assert.equal(status['CapAmb'], '0000000000000000');
  assert.equal(status['NoNewPrivs'], '1');
  // Root really lost CAP_SYS_ADMIN: mounting fails.
  const mnt = await fx.run(t, { cmd: ['sh', '-c', 'mount -t tmpfs none /tmp 2>&1; echo rc=$?'] });
  assert.match(mnt.stdout, /rc=[1-9]/);
  const user = await fx.run(t, { user: 'app', cmd: ['sh', '-c', 'grep -E "^Cap(Eff|Prm|Bnd)" /proc/self/status'] });
  assert.match(user.stdout, /CapEff:\t0000000000000000/);
  assert.match(user.stdout, /CapPrm:\t0000000000000000/);
  assert.match(user.stdout, /CapBnd:\t00000000a80425fb/);
  const added = await fx.run(t, { capAdd: ['NET_ADMIN'], capDrop: ['CHOWN'], noNewPrivileges: false, cmd: ['sh', '-c', 'grep -E "^(CapEff|NoNewPrivs)" /proc/self/status'] });
  assert.match(added.stdout, /CapEff:\t00000000a80435fa/);
  assert.match(added.stdout, /NoNewPrivs:\t0/);
});

test('network none: only lo, and it is up', async (t) => {
  if (!need(t, { root: true })) return;
  const r = await fx.run(t, { network: 'none', cmd: ['sh', '-c', 'ls /sys/class/net; cat /sys/class/net/lo/operstate; ping -c1 -W1 127.0.0.1 >/dev/null && echo ping-ok'] });
  assert.equal(r.exitCode, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], 'lo');
  assert.ok(lines.includes('ping-ok'), r.stdout);
});

test('read-only rootfs: writes to / fail, /tmp via --tmpfs and the /etc files still work', async (t) => {
  if (!need(t, { root: true })) return;
  const r = await fx.run(t, { readOnly: true, tmpfs: ['/tmp'], cmd: ['sh', '-c', 'touch /newfile 2>&1; echo rc=$?; touch /tmp/ok && echo tmp-ok; grep " / " /proc/self/mountinfo | head -1'] });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /Read-only file system/);
  assert.match(r.stdout, /rc=1/);
  assert.match(r.stdout, /tmp-ok/);
  assert.match(r.stdout, / \/ \/ ro[,\s]/);
});

test('bind mounts -v host:ctr[:ro] and --tmpfs with options', async (t) => {
  if (!need(t, { root: true })) return;
  const rw = join(fx.dir, 'vol-rw');
  const ro = join(fx.dir, 'vol-ro');
  await mkdir(rw);
  await mkdir(ro);
  await writeFile(join(ro, 'given'), 'from host\n');
  const created = join(fx.dir, 'vol-created', 'deep');
  const r = await fx.run(t, {
    volumes: [`${rw}:/data`, `${ro}:/config:ro`, `${created}:/made`],
    tmpfs: ['/scratch:size=1m,mode=1777'],
    cmd: ['sh', '-c', 'echo written > /data/out; cat /config/given; echo x > /config/nope 2>/dev/null || echo ro-ok; grep " /scratch " /proc/self/mountinfo; ls -ld /scratch | cut -c1-10; dd if=/dev/zero of=/scratch/big bs=1k count=2000 2>/dev/null || echo full-ok'],
  });
  assert.equal(r.exitCode, 0, r.stderr);
  assert.equal(await readFile(join(rw, 'out'), 'utf8'), 'written\n');
  assert.match(r.stdout, /^from host\nro-ok\n/);
  assert.match(r.stdout, / \/scratch .*tmpfs.*size=1024k/);
  assert.match(r.stdout, /drwxrwxrwt/);
  assert.match(r.stdout, /full-ok/);
  assert.match(r.stdout, /noexec/);
});

test('leaves no cgroups, mounts or shims of its own behind', (t) => {
  if (!need(t, { root: true })) return;
  fx.assertNoLeftovers();
});
