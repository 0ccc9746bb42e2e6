/**
 * The predefined networks: `none` (a namespace with only lo, up), `host` (no namespace, the host's
 * hosts file), and the default bridge (its own interface and --bip, no names between containers),
 * with both kinds of namespace path the runtime can hand over: a file from prepareNetns and a
 * process's /proc/<pid>/ns/net. Also the namespace files' lifecycle and the reopen of a state dir.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { access, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { TsdError } from '../../shared/errors.js';
import { exec } from '../../engine/network/exec.js';
import { localhostLines } from '../../engine/network/hosts.js';
import { linkKind } from '../../engine/network/links.js';
import { need, tempDir } from '../helpers/env.js';
import { Tracker, freeSubnet, inNetns, ipJson, leftovers, openManager, record, serveInNetns, uniqueName } from './lib.js';

const tracker = new Tracker();
const cid = () => randomBytes(32).toString('hex');
const isMounted = async (path: string) => (await readFile('/proc/self/mountinfo', 'utf8')).includes(` ${path} `);

test('none: a fresh namespace with only lo, up; it cannot join other networks; the file goes on release', async (t) => {
  if (!need(t, { root: true, programs: ['ip'] })) return;
  const m = await openManager(t, tracker);
  const c = cid();
  const ns = await m.prepareNetns(c);
  tracker.netnsFiles.add(ns);
  assert.ok(await isMounted(ns), 'the namespace is kept by a bind mount on its file');
  await assert.rejects(m.prepareNetns(c), (e: unknown) => e instanceof TsdError && e.code === 'ALREADY_EXISTS');
  const a = await m.connect('none', { containerId: c, netnsPath: ns });
  assert.equal(a.ip, undefined);
  assert.equal(a.networkName, 'none');
  assert.deepEqual(JSON.parse(await inNetns(ns, 'links')), ['lo']);
  const links = await ipJson<Array<{ ifname: string; flags: string[] }>>(ns, 'link', 'show');
  assert.deepEqual(links.map((l) => l.ifname), ['lo']);
  assert.ok(links[0]!.flags.includes('UP'), JSON.stringify(links));
  assert.equal(m.inspect('none').Driver, 'null');
  assert.deepEqual(Object.keys(m.inspect('none').Containers), [c]);
  assert.equal(await m.hostsFor(c), `${localhostLines.join('\n')}\n`);
  await assert.rejects(m.connect('host', { containerId: c }), (e: unknown) => e instanceof TsdError && e.code === 'DENIED');
  await assert.rejects(m.remove('none'), { message: 'none is a pre-defined network and cannot be removed' });
  await m.disconnect('none', c);
  await m.releaseNetns(c);
  assert.equal(await isMounted(ns), false);
  await assert.rejects(access(ns));
});

test('host: no namespace, the host hosts file, a single instance', async (t) => {
  if (!need(t, { root: true })) return;
  const m = await openManager(t, tracker);
  const c = cid();
  const a = await m.connect('host', { containerId: c, extraHosts: ['extra.example:10.9.9.9'] });
  assert.equal(a.ip, undefined);
  const hosts = await m.hostsFor(c);
  assert.ok(hosts.startsWith(await readFile('/etc/hosts', 'utf8')), hosts);
  assert.ok(hosts.endsWith('10.9.9.9\textra.example\n'), hosts);
  assert.equal(m.inspect('host').Driver, 'host');
  await assert.rejects(m.create({ name: 'h2', driver: 'host' }), { message: 'only one instance of "host" network is allowed' });
  await assert.rejects(m.create({ name: 'x', driver: 'macvlan' }), { message: 'plugin "macvlan" not found' });
  await assert.rejects(m.remove('host'), { message: 'host is a pre-defined network and cannot be removed' });
  await m.disconnectAll(c);
  assert.deepEqual(m.inspect('host').Containers, {});
});

test('the default bridge: --bridge and --bip, a runtime-made /proc/<pid>/ns/net, no names between containers, reopen', async (t) => {
  if (!need(t, { root: true, programs: ['ip', 'iptables'] })) return;
  const bridgeName = uniqueName('tsdt');
  const subnet = await freeSubnet();
  const bip = subnet.replace(/0\/24$/, '1/24');
  tracker.links.add(bridgeName);
  const m = await openManager(t, tracker, { defaultBridge: { name: bridgeName, bip } });
  const stateDir = m.stateDir;
  const options = { stateDir, defaultBridge: { name: bridgeName, bip } };
  const dir = await tempDir(t); // after the manager: its cleanup (unmounts) runs before this removal
  assert.deepEqual(m.list().map((n) => n.Name).sort(), ['bridge', 'host', 'none']);
  const info = m.inspect('bridge');
  assert.equal(info.IPAM.Config[0]?.Subnet, subnet);
  assert.equal(info.IPAM.Config[0]?.Gateway, bip.split('/')[0]);
  assert.equal(info.Options['com.docker.network.bridge.name'], bridgeName);
  assert.equal(info.Options['com.docker.network.bridge.default_bridge'], 'true');
  assert.equal(await linkKind(bridgeName), 'bridge');

  // A container whose namespace the runtime made (a process that unshared its own).
  const proc = await serveInNetns(t, tracker, 'new', 'serve-tcp', 7200, 'runtime-made');
  const c1 = cid();
  const c2 = cid();
  const hosts1 = join(dir, 'hosts1');
  await writeFile(hosts1, 'stale\n');
  const a1 = await m.connect('bridge', { containerId: c1, name: 'first', netnsPath: `/proc/${proc.pid}/ns/net`, hostsPath: hosts1 });
  const ns2 = await m.prepareNetns(c2);
  const a2 = await m.connect('bridge', { containerId: c2, name: 'second', netnsPath: ns2 });
  record(m, tracker);
  tracker.links.add(a1.hostVeth!).add(a2.hostVeth!);
  assert.equal(await inNetns(ns2, 'tcp', a1.ip!, '7200', 'hi'), 'runtime-made:hi');
  // The default bridge gives no names of other containers (docker: legacy links only).
  assert.equal(await readFile(hosts1, 'utf8'), `${localhostLines.join('\n')}\n${a1.ip}\t${c1.slice(0, 12)}\n`);
  await assert.rejects(m.connect('bridge', { containerId: cid(), netnsPath: ns2, ipv4Address: a1.ip! }), {
    message: 'user specified IP address is supported on user defined networks only',
  });
  const settings = m.networksOf(c1)['bridge'];
  assert.equal(settings?.IPAddress, a1.ip);
  assert.equal(settings?.Gateway, info.IPAM.Config[0]?.Gateway);
  assert.equal(settings?.NetworkID, info.Id);

  // Reopen (a daemon restart): same IDs and endpoints; a missing NAT rule is put back.
  await m.close();
  await exec('iptables', ['-w', '-t', 'nat', '-D', 'POSTROUTING', '-s', subnet, '!', '-o', bridgeName, '-m', 'comment', '--comment', `tsdocker:${info.Id}`, '-j', 'MASQUERADE']);
  const again = await openManager(t, tracker, options);
  assert.equal(again.inspect('bridge').Id, info.Id);
  assert.deepEqual(Object.keys(again.inspect('bridge').Containers).sort(), [c1, c2].sort());
  assert.match((await exec('iptables', ['-w', '-t', 'nat', '-S', 'POSTROUTING'])).stdout, new RegExp(`tsdocker:${info.Id}`));
  // Moving --bip while containers are attached is refused.
  await assert.rejects(openManager(t, tracker, { stateDir, defaultBridge: { name: bridgeName, bip: subnet.replace(/0\/24$/, '254/24') } }), (e: unknown) => e instanceof TsdError && e.code === 'CONFIG_INVALID');
  await again.disconnectAll(c1);
  await again.disconnectAll(c2);
  assert.equal(await linkKind(a1.hostVeth!), undefined);
  await again.releaseNetns(c2);
  // With no containers, --bridge=none removes the default bridge and its rules.
  await openManager(t, tracker, { stateDir, defaultBridge: false });
  assert.equal(await linkKind(bridgeName), undefined);
  assert.doesNotMatch((await exec('iptables', ['-w', '-t', 'nat', '-S'])).stdout, new RegExp(info.Id));
});

test('the default bridge from the pools: a daemon on another data root adopts the address the interface has, adding none', async (t) => {
  if (!need(t, { root: true, programs: ['ip', 'iptables'] })) return;
  const bridgeName = uniqueName('tsdt');
  tracker.links.add(bridgeName);
  const pool = await freeSubnet(16);
  const defaultAddressPools = [{ base: pool, size: 24 }];
  const addresses = async () =>
    (JSON.parse((await exec('ip', ['-j', '-4', 'addr', 'show', 'dev', bridgeName])).stdout) as Array<{ addr_info: Array<{ local: string; prefixlen: number }> }>)[0]!.addr_info.map((a) => `${a.local}/${a.prefixlen}`);
  const first = await openManager(t, tracker, { defaultBridge: { name: bridgeName }, defaultAddressPools });
  const subnet = first.inspect('bridge').IPAM.Config[0]!.Subnet;
  assert.equal(subnet, pool.replace(/\/16$/, '/24'));
  const gateway = first.inspect('bridge').IPAM.Config[0]!.Gateway;
  assert.deepEqual(await addresses(), [`${gateway}/24`]);
  // Daemons started one after another on fresh data roots share the interface: before, each took
  // the next pool (the one before's route was "taken") and added it, until the pools ran out.
  for (let i = 0; i < 3; i++) {
    const next = await openManager(t, tracker, { defaultBridge: { name: bridgeName }, defaultAddressPools });
    assert.equal(next.inspect('bridge').IPAM.Config[0]!.Subnet, subnet);
    assert.equal(next.inspect('bridge').IPAM.Config[0]!.Gateway, gateway);
  }
  assert.deepEqual(await addresses(), [`${gateway}/24`]);
});

test('the warm namespace pool: prepareNetns takes a ready namespace, each one fresh and distinct; close drops the rest', async (t) => {
  if (!need(t, { root: true, programs: ['ip'] })) return;
  const m = await openManager(t, tracker, { netnsPool: 2 });
  await m.netnsPoolSettled();
  assert.equal(m.netnsPoolState?.available, 2);
  const poolDir = join(m.stateDir, 'netns-pool');
  const warm = (await readdir(poolDir)).map((f) => join(poolDir, f));
  warm.forEach((f) => tracker.netnsFiles.add(f));
  const warmInodes = new Set(await Promise.all(warm.map(async (f) => (await stat(f)).ino)));
  const [c1, c2, c3] = [cid(), cid(), cid()];
  const started = performance.now();
  const ns1 = await m.prepareNetns(c1);
  const took = performance.now() - started;
  const ns2 = await m.prepareNetns(c2);
  const ns3 = await m.prepareNetns(c3);
  [ns1, ns2, ns3].forEach((f) => tracker.netnsFiles.add(f));
  // Distinct namespaces (nsfs inode numbers), each with only lo, up.
  const inodes = await Promise.all([ns1, ns2, ns3].map(async (p) => (await stat(p)).ino));
  assert.equal(new Set(inodes).size, 3);
  for (const ns of [ns1, ns2, ns3]) assert.deepEqual(JSON.parse(await inNetns(ns, 'links')), ['lo']);
  // The first two are the pool's namespaces; their warm files are gone (not mounted any more).
  assert.ok(warmInodes.has(inodes[0]!) && warmInodes.has(inodes[1]!), 'taken from the pool');
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  for (const f of warm) assert.equal(mounts.includes(` ${f} `), false, `${f} still mounted`);
  t.diagnostic(`prepareNetns from the pool: ${took.toFixed(1)} ms`);
  await m.netnsPoolSettled();
  for (const c of [c1, c2, c3]) await m.releaseNetns(c);
  await m.close();
  assert.deepEqual(await readdir(poolDir), []);
});

test('nothing of this file is left: links, rules, namespace files, /run/netns names, processes', async (t) => {
  if (!need(t, { root: true })) return;
  assert.deepEqual(await leftovers(tracker), []);
});
