/**
 * Bridge networks end to end with real namespaces, veths, bridges and iptables: two containers on
 * one user network talk over TCP and UDP, reach their gateway, find each other by name; outbound
 * NAT exists exactly as long as the network; an internal network has no way out.
 * Traffic only ever goes between the namespaces this file creates and their bridge's gateway.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { TsdError } from '../../shared/errors.js';
import { exec } from '../../engine/network/exec.js';
import { linkKind } from '../../engine/network/links.js';
import { optMtu } from '../../engine/network/manager.js';
import { need, tempDir } from '../helpers/env.js';
import { Tracker, freeSubnet, inNetns, ipJson, leftovers, openManager, record, serveInNetns, uniqueName } from './lib.js';

const tracker = new Tracker();
const cid = () => randomBytes(32).toString('hex');

interface IpAddr {
  ifname: string;
  mtu: number;
  address: string;
  operstate: string;
  addr_info: Array<{ family: string; local: string; prefixlen: number }>;
}

async function natRules(): Promise<string> {
  return (await exec('iptables', ['-w', '-t', 'nat', '-S', 'POSTROUTING'])).stdout;
}

test('two containers on a user network: addresses, TCP and UDP both ways, the gateway, names, detach', async (t) => {
  if (!need(t, { root: true, programs: ['ip', 'iptables'] })) return;
  const m = await openManager(t, tracker);
  const dir = await tempDir(t);
  const subnet = await freeSubnet();
  const netName = uniqueName('tnet');
  const { Id } = await m.create({ name: netName, subnet, options: { [optMtu]: '1400' } });
  record(m, tracker);
  const info = m.inspect(netName);
  const gateway = info.IPAM.Config[0]!.Gateway;
  const bridge = `br-${Id.slice(0, 12)}`;
  assert.equal(info.IPAM.Config[0]!.Subnet, subnet);

  const [c1, c2] = [cid(), cid()];
  const [ns1, ns2] = [await m.prepareNetns(c1), await m.prepareNetns(c2)];
  const [hosts1, hosts2] = [join(dir, 'hosts1'), join(dir, 'hosts2')];
  await writeFile(hosts1, '');
  await writeFile(hosts2, '');
  const inode1 = (await stat(hosts1)).ino;

  const a1 = await m.connect(netName, { containerId: c1, name: 'web', hostname: 'webhost', netnsPath: ns1, hostsPath: hosts1 });
  const a2 = await m.connect(netName, { containerId: c2, name: 'db', aliases: ['database'], netnsPath: ns2, hostsPath: hosts2 });
  record(m, tracker);
  tracker.links.add(a1.hostVeth!).add(a2.hostVeth!);
  assert.notEqual(a1.ip, a2.ip);
  assert.equal(a1.gateway, gateway);
  assert.equal(a1.ifname, 'eth0');
  assert.equal(a1.prefixLen, 24);

  // Inside: eth0 with the address, MTU and MAC, up; lo up; the default route via the gateway.
  const addrs = await ipJson<IpAddr[]>(ns1, 'addr', 'show');
  const eth0 = addrs.find((a) => a.ifname === 'eth0');
  assert.ok(eth0, JSON.stringify(addrs));
  assert.equal(eth0.mtu, 1400);
  assert.equal(eth0.address, a1.mac);
  assert.deepEqual(eth0.addr_info.filter((x) => x.family === 'inet').map((x) => `${x.local}/${x.prefixlen}`), [`${a1.ip}/24`]);
  assert.equal(addrs.find((a) => a.ifname === 'lo')?.addr_info.some((x) => x.local === '127.0.0.1'), true);
  const routes = await ipJson<Array<{ dst: string; gateway?: string; dev: string }>>(ns1, 'route', 'show');
  assert.ok(routes.some((r) => r.dst === 'default' && r.gateway === gateway && r.dev === 'eth0'), JSON.stringify(routes));
  // Host side: the veth is a port of the bridge.
  const port = JSON.parse((await exec('ip', ['-j', 'link', 'show', 'dev', a1.hostVeth!])).stdout) as Array<{ master?: string }>;
  assert.equal(port[0]?.master, bridge);

  // TCP both ways and UDP between the two namespaces.
  await serveInNetns(t, tracker, ns2, 'serve-tcp', 7000, 'db');
  await serveInNetns(t, tracker, ns1, 'serve-tcp', 7000, 'web');
  await serveInNetns(t, tracker, ns2, 'serve-udp', 7001, 'db-udp');
  assert.equal(await inNetns(ns1, 'tcp', a2.ip!, '7000', 'hello'), 'db:hello');
  assert.equal(await inNetns(ns2, 'tcp', a1.ip!, '7000', 'back'), 'web:back');
  assert.equal(await inNetns(ns1, 'udp', a2.ip!, '7001', 'dgram'), 'db-udp:dgram');

  // The gateway (the host's address on the bridge) answers a container.
  const accepted = new Set<Socket>();
  const host = createServer((s) => {
    accepted.add(s);
    s.resume().end('gateway');
  });
  await new Promise<void>((resolve) => host.listen(0, gateway, resolve));
  t.after(() => {
    for (const s of accepted) s.destroy();
    return new Promise<void>((resolve) => host.close(() => resolve()));
  });
  const hostPort = (host.address() as { port: number }).port;
  assert.equal(await inNetns(ns1, 'tcp', gateway, String(hostPort), 'x'), 'gateway');

  // Names: each hosts file lists the other container (name, aliases, short ID) and itself, rewritten in place.
  const h1 = await readFile(hosts1, 'utf8');
  assert.match(h1, /^127\.0\.0\.1\tlocalhost$/m);
  assert.ok(h1.includes(`${a1.ip}\twebhost\n`), h1);
  assert.ok(h1.includes(`${a2.ip}\tdb database ${c2.slice(0, 12)}\n`), h1);
  assert.ok((await readFile(hosts2, 'utf8')).includes(`${a1.ip}\tweb ${c1.slice(0, 12)} webhost\n`));
  assert.equal((await stat(hosts1)).ino, inode1);
  assert.equal(await m.hostsFor(c1), h1);

  // Outbound NAT and forwarding for the subnet while the network exists; ip_forward on.
  assert.match(await natRules(), new RegExp(`-A POSTROUTING -s ${subnet.replace(/\./g, '\\.')} ! -o ${bridge} .*--comment "?tsdocker:${Id}"? -j MASQUERADE`));
  assert.equal((await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8')).trim(), '1');

  // Removing a network with endpoints is refused, and changes nothing.
  await assert.rejects(m.remove(netName), (e: unknown) => e instanceof TsdError && e.code === 'DENIED' && /has active endpoints/.test(e.message));

  // Detach: the veth goes, the address is free, the other's hosts file forgets it (same inode).
  await m.disconnect(netName, c2);
  assert.equal(await linkKind(a2.hostVeth!), undefined);
  assert.deepEqual(Object.keys(m.inspect(netName).Containers), [c1]);
  const after = await readFile(hosts1, 'utf8');
  assert.ok(!after.includes('database'), after);
  assert.equal((await stat(hosts1)).ino, inode1);
  await assert.rejects(m.disconnect(netName, c2), /is not connected to network/);

  await m.disconnect(netName, c1);
  await m.remove(netName);
  assert.doesNotMatch(await natRules(), new RegExp(Id));
  assert.equal(m.list().some((n) => n.Id === Id), false);
  await assert.rejects(Promise.resolve().then(() => m.inspect(netName)), (e: unknown) => e instanceof TsdError && e.code === 'NOT_FOUND' && e.message === `network ${netName} not found`);
  await m.releaseNetns(c1);
  await m.releaseNetns(c2);
});

test('an internal network: containers talk to each other, no NAT, no default route, forwarding dropped', async (t) => {
  if (!need(t, { root: true, programs: ['ip', 'iptables'] })) return;
  const m = await openManager(t, tracker);
  const subnet = await freeSubnet();
  const name = uniqueName('tint');
  const { Id } = await m.create({ name, subnet, internal: true });
  record(m, tracker);
  const bridge = `br-${Id.slice(0, 12)}`;
  const [c1, c2] = [cid(), cid()];
  const [ns1, ns2] = [await m.prepareNetns(c1), await m.prepareNetns(c2)];
  const a1 = await m.connect(name, { containerId: c1, netnsPath: ns1 });
  const a2 = await m.connect(name, { containerId: c2, netnsPath: ns2 });
  record(m, tracker);
  assert.equal(a1.gateway, undefined);
  const routes = await ipJson<Array<{ dst: string }>>(ns1, 'route', 'show');
  assert.equal(routes.some((r) => r.dst === 'default'), false);
  await serveInNetns(t, tracker, ns2, 'serve-tcp', 7100, 'inner');
  assert.equal(await inNetns(ns1, 'tcp', a2.ip!, '7100', 'ok'), 'inner:ok');
  assert.doesNotMatch(await natRules(), new RegExp(Id));
  const forward = (await exec('iptables', ['-w', '-S', 'FORWARD'])).stdout;
  assert.match(forward, new RegExp(`-A FORWARD -i ${bridge} ! -o ${bridge} .*tsdocker:${Id}"? -j DROP`));
  assert.equal(m.networksOf(c1)[name]?.Gateway, '');
  await m.disconnectAll(c1);
  await m.disconnectAll(c2);
  await m.remove(name);
  assert.doesNotMatch((await exec('iptables', ['-w', '-S', 'FORWARD'])).stdout, new RegExp(Id));
});

test('networks are isolated from each other; a published port is the way in', async (t) => {
  if (!need(t, { root: true, programs: ['ip', 'iptables'] })) return;
  const m = await openManager(t, tracker);
  const [netA, netB] = [uniqueName('tisoa'), uniqueName('tisob')];
  await m.create({ name: netA, subnet: await freeSubnet() });
  await m.create({ name: netB, subnet: await freeSubnet() });
  record(m, tracker);
  const [a, b1, b2] = [cid(), cid(), cid()];
  const nsA = await m.prepareNetns(a);
  const nsB1 = await m.prepareNetns(b1);
  const nsB2 = await m.prepareNetns(b2);
  const attA = await m.connect(netA, { containerId: a, netnsPath: nsA });
  const attB1 = await m.connect(netB, { containerId: b1, netnsPath: nsB1 });
  const attB2 = await m.connect(netB, { containerId: b2, netnsPath: nsB2 });
  [attA, attB1, attB2].forEach((x) => tracker.links.add(x.hostVeth!));
  await serveInNetns(t, tracker, nsB1, 'serve-tcp', 7400, 'b1');
  assert.equal(await inNetns(nsB2, 'tcp-probe', attB1.ip!, '7400'), 'connected', 'same network');
  assert.equal(await inNetns(nsA, 'tcp-probe', attB1.ip!, '7400'), 'blocked', 'other network');
  // Through a published port on network B's gateway address (DNAT from A's bridge), A gets in.
  const published = await m.publish(netB, b1, [{ containerPort: 7400, protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 0 }]);
  t.after(() => published.close());
  const gatewayB = m.inspect(netB).IPAM.Config[0]!.Gateway;
  assert.equal(await inNetns(nsA, 'tcp', gatewayB, String(published.ports[0]!.hostPort), 'in'), 'b1:in');
  await published.close();
  // Joining network B as well: a second interface, eth1, without a second default route; B's names.
  const second = await m.connect(netB, { containerId: a, name: 'a', netnsPath: nsA });
  tracker.links.add(second.hostVeth!);
  assert.equal(second.ifname, 'eth1');
  assert.equal(second.gateway, undefined);
  const routes = await ipJson<Array<{ dst: string; dev: string }>>(nsA, 'route', 'show');
  assert.deepEqual(routes.filter((r) => r.dst === 'default').map((r) => r.dev), ['eth0']);
  assert.equal(await inNetns(nsA, 'tcp-probe', attB1.ip!, '7400'), 'connected');
  assert.ok((await m.hostsFor(a)).includes(`${attB1.ip}	${b1.slice(0, 12)}
`));
  assert.deepEqual(Object.keys(m.networksOf(a)).sort(), [netA, netB].sort());
  for (const c of [a, b1, b2]) await m.disconnectAll(c);
  await m.remove(netA);
  await m.remove(netB);
});

test('nothing of this file is left: links, rules, namespace files, /run/netns names, processes', async (t) => {
  if (!need(t, { root: true })) return;
  assert.deepEqual(await leftovers(tracker), []);
  assert.ok(tracker.links.size > 0 && tracker.tags.size > 0, 'the tracker saw what the tests made');
});
