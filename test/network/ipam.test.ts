/**
 * Address management with real namespaces: unique addresses, persisted across a reopen of the
 * state dir (a daemon restart), released on disconnect and reused only after the others, a full
 * subnet refused with docker's message, `--ip`, subnets from the configured default pools, and the
 * create errors docker gives (name taken, overlapping pool).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { test } from 'node:test';
import { TsdError } from '../../shared/errors.js';
import { formatCIDR, parseCIDR } from '../../engine/network/cidr.js';
import { createNetnsFiles } from '../../engine/network/netns.js';
import { readState } from '../../engine/network/state.js';
import { need } from '../helpers/env.js';
import { Tracker, freeSubnet, leftovers, openManager, record, uniqueName } from './lib.js';

const tracker = new Tracker();
const cid = () => randomBytes(32).toString('hex');

test('addresses: unique, persisted across reopen, released on disconnect, exhaustion, --ip', async (t) => {
  if (!need(t, { root: true, programs: ['ip', 'iptables'] })) return;
  const m = await openManager(t, tracker);
  const stateDir = m.stateDir;
  // A /29: gateway .1, hosts .2 to .6.
  const subnet = (await freeSubnet()).replace(/\/24$/, '/29');
  const base = subnet.split('/')[0]!.replace(/\.0$/, '');
  const name = uniqueName('tipam');
  const { Id } = await m.create({ name, subnet });
  record(m, tracker);
  const ids = Array.from({ length: 6 }, cid);
  const ns = ids.map((c) => join(stateDir, 'netns', c));
  await createNetnsFiles(ns); // one child makes all six
  ns.forEach((p) => tracker.netnsFiles.add(p));

  const first = [];
  for (const c of ids.slice(0, 3)) first.push(await m.connect(name, { containerId: c, netnsPath: join(stateDir, 'netns', c) }));
  assert.deepEqual(first.map((a) => a.ip), [`${base}.2`, `${base}.3`, `${base}.4`]);
  first.forEach((a) => tracker.links.add(a.hostVeth!));
  const onDisk = (await readState(stateDir)).networks.find((n) => n.id === Id)!;
  assert.deepEqual(Object.values(onDisk.endpoints).map((e) => e.ip).sort(), [`${base}.2`, `${base}.3`, `${base}.4`]);

  // Reopen: the allocations and the position of the serial allocator are kept.
  await m.close();
  const m2 = await openManager(t, tracker, { stateDir });
  assert.deepEqual(
    Object.values(m2.inspect(name).Containers).map((c) => c.IPv4Address).sort(),
    [`${base}.2/29`, `${base}.3/29`, `${base}.4/29`],
  );
  await m2.disconnect(name, ids[0]!); // frees .2
  const a4 = await m2.connect(name, { containerId: ids[3]!, netnsPath: ns[3]! });
  assert.equal(a4.ip, `${base}.5`, 'a released address is not handed out again at once');
  tracker.links.add(a4.hostVeth!);
  await assert.rejects(m2.connect(name, { containerId: ids[4]!, netnsPath: ns[4]!, ipv4Address: `${base}.3` }), { message: `Address already in use: ${base}.3` });
  await assert.rejects(m2.connect(name, { containerId: ids[4]!, netnsPath: ns[4]!, ipv4Address: '192.0.2.77' }), (e: unknown) => e instanceof TsdError && e.code === 'INVALID_ARGUMENT');
  const a5 = await m2.connect(name, { containerId: ids[4]!, netnsPath: ns[4]!, ipv4Address: `${base}.2` });
  assert.equal(a5.ip, `${base}.2`);
  assert.deepEqual(m2.networksOf(ids[4]!)[name]?.IPAMConfig, { IPv4Address: `${base}.2` });
  const a6 = await m2.connect(name, { containerId: ids[5]!, netnsPath: ns[5]! });
  assert.equal(a6.ip, `${base}.6`);
  [a5, a6].forEach((a) => tracker.links.add(a.hostVeth!));
  // Full: .2 to .6 taken.
  await assert.rejects(m2.connect(name, { containerId: ids[0]!, netnsPath: ns[0]! }), {
    message: `no available IPv4 addresses on this network's address pools: ${name} (${Id})`,
  });
  // A failed connect leaves no endpoint and no address taken.
  assert.equal(Object.keys(m2.inspect(name).Containers).length, 5);
  await assert.rejects(m2.connect(name, { containerId: ids[1]!, netnsPath: ns[1]! }), { message: `endpoint with name ${ids[1]!.slice(0, 12)} already exists in network ${name}` });
  for (const c of ids) await m2.disconnectAll(c);
  assert.deepEqual(m2.inspect(name).Containers, {});
  await m2.remove(name);
});

test('create: subnets from the default pools, overlap and name errors, the gateway, a bad connect changes nothing', async (t) => {
  if (!need(t, { root: true, programs: ['ip', 'iptables'] })) return;
  const pool = await freeSubnet(20);
  const m = await openManager(t, tracker, { defaultAddressPools: [{ base: pool, size: 24 }] });
  const n1 = uniqueName('tpool');
  const n2 = uniqueName('tpool');
  await m.create({ name: n1 });
  await m.create({ name: n2 });
  record(m, tracker);
  const s1 = m.inspect(n1).IPAM.Config[0]!;
  const s2 = m.inspect(n2).IPAM.Config[0]!;
  assert.equal(s1.Subnet, pool.replace(/\/20$/, '/24'));
  assert.notEqual(s1.Subnet, s2.Subnet);
  assert.equal(s1.Gateway, s1.Subnet.replace(/0\/24$/, '1'));
  await assert.rejects(m.create({ name: n1 }), { message: `network with name ${n1} already exists` });
  await assert.rejects(m.create({ name: uniqueName('tover'), subnet: s1.Subnet }), { message: 'Pool overlaps with other one on this address space' });
  await assert.rejects(m.create({ name: uniqueName('tbad'), subnet: '10.1.2.3/24' }), { message: 'invalid subnet 10.1.2.3/24: it should be 10.1.2.0/24' });
  await assert.rejects(m.create({ name: uniqueName('tbad'), subnet: 'nonsense' }), { message: 'invalid CIDR address: nonsense' });
  await assert.rejects(m.create({ name: 'bad name!' }), (e: unknown) => e instanceof TsdError && e.code === 'INVALID_ARGUMENT');
  const gwNet = uniqueName('tgw');
  const gwSubnet = formatCIDR({ base: parseCIDR(pool).base + 8 * 256, prefixLen: 24 }); // inside the free pool, not used yet
  await m.create({ name: gwNet, subnet: gwSubnet, gateway: gwSubnet.replace(/0\/24$/, '254') });
  record(m, tracker);
  assert.equal(m.inspect(gwNet).IPAM.Config[0]!.Gateway, gwSubnet.replace(/0\/24$/, '254'));
  // By ID prefix too (docker's lookup).
  const id = m.inspect(gwNet).Id;
  assert.equal(m.inspect(id.slice(0, 10)).Name, gwNet);
  // Connecting without a usable namespace fails and leaves nothing (no endpoint, no veth).
  const c = cid();
  await assert.rejects(m.connect(n1, { containerId: c, netnsPath: '/proc/999999999/ns/net' }));
  assert.deepEqual(m.inspect(n1).Containers, {});
  assert.deepEqual(await m.prune(), [n1, n2, gwNet]);
  assert.deepEqual(m.list().map((n) => n.Name).sort(), ['host', 'none']);
});

test('nothing of this file is left: links, rules, namespace files, /run/netns names, processes', async (t) => {
  if (!need(t, { root: true })) return;
  assert.deepEqual(await leftovers(tracker), []);
});
