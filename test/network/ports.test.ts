/**
 * Published ports with a server inside a namespace: reachable through the userland proxy on
 * 127.0.0.1 (TCP, with half-close and a large payload, and UDP), the `ip:host:container` and
 * random-port forms, DNAT rules for the host's other addresses, docker's two conflict errors,
 * all-or-nothing publishing, and nothing left after close. Host-side traffic goes only to
 * 127.0.0.1 and to the test bridge's gateway address.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';
import { test } from 'node:test';
import { TsdError } from '../../shared/errors.js';
import { exec } from '../../engine/network/exec.js';
import { parsePublish, toPortMap } from '../../engine/network/ports.js';
import { freePort, need } from '../helpers/env.js';
import { Tracker, freeSubnet, leftovers, openManager, record, serveInNetns, uniqueName } from './lib.js';

const tracker = new Tracker();
const cid = () => randomBytes(32).toString('hex');

function tcpRequest(host: string, port: number, payload: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, allowHalfOpen: true }, () => s.end(payload));
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => {
      s.destroy();
      resolve(Buffer.concat(chunks).toString());
    });
    s.on('error', reject);
  });
}

function udpRequest(host: string, port: number, payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createSocket('udp4');
    const timer = setTimeout(() => {
      s.close();
      reject(new Error('no UDP answer'));
    }, 5000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(m.toString());
    });
    s.send(payload, port, host);
  });
}

/** The packet count of the nat rule that DNATs to `to`, from `iptables-save -c`. */
async function dnatPackets(chain: string, to: string): Promise<number> {
  const { stdout } = await exec('iptables-save', ['-c', '-t', 'nat']);
  const line = stdout.split('\n').find((l) => l.includes(`-A ${chain} `) && l.includes(`--to-destination ${to}`));
  assert.ok(line, `no ${chain} DNAT rule to ${to}:\n${stdout}`);
  return Number(/^\[(\d+):/.exec(line)![1]);
}

test('published ports: proxy on 127.0.0.1 (TCP, UDP), ip:host:container, random ports, DNAT, conflicts, close', async (t) => {
  if (!need(t, { root: true, programs: ['ip', 'iptables', 'iptables-save'] })) return;
  const m = await openManager(t, tracker);
  const name = uniqueName('tport');
  await m.create({ name, subnet: await freeSubnet() });
  record(m, tracker);
  const gateway = m.inspect(name).IPAM.Config[0]!.Gateway;
  const [c1, c2] = [cid(), cid()];
  const ns1 = await m.prepareNetns(c1);
  const a1 = await m.connect(name, { containerId: c1, name: 'web', netnsPath: ns1 });
  const ns2 = await m.prepareNetns(c2);
  const a2 = await m.connect(name, { containerId: c2, name: 'other', netnsPath: ns2 });
  tracker.links.add(a1.hostVeth!).add(a2.hostVeth!);
  await serveInNetns(t, tracker, ns1, 'serve-tcp', 7300, 'srv');
  await serveInNetns(t, tracker, ns1, 'serve-udp', 7301, 'usrv');

  const fixed = await freePort();
  const local = await freePort();
  const udpPort = await freePort();
  const handle = await m.publish(name, c1, [
    ...parsePublish(`${fixed}:7300`),
    ...parsePublish(`127.0.0.1:${local}:7300/tcp`),
    ...parsePublish('7300'),
    ...parsePublish(`${udpPort}:7301/udp`),
  ]);
  t.after(() => handle.close());
  const random = handle.ports[2]!.hostPort;
  assert.ok(random > 1024 && random !== fixed && random !== local, `random port ${random}`);
  assert.deepEqual(toPortMap(handle.ports), {
    '7300/tcp': [
      { HostIp: '0.0.0.0', HostPort: String(fixed) },
      { HostIp: '127.0.0.1', HostPort: String(local) },
      { HostIp: '0.0.0.0', HostPort: String(random) },
    ],
    '7301/udp': [{ HostIp: '0.0.0.0', HostPort: String(udpPort) }],
  });

  // Through the proxy on loopback, every form; a 1 MiB payload survives, half-close included.
  assert.equal(await tcpRequest('127.0.0.1', fixed, 'hello'), 'srv:hello');
  assert.equal(await tcpRequest('127.0.0.1', local, 'local'), 'srv:local');
  assert.equal(await tcpRequest('127.0.0.1', random, 'random'), 'srv:random');
  const big = randomBytes(512 * 1024).toString('hex');
  assert.equal(await tcpRequest('127.0.0.1', fixed, big), `srv:${big}`);
  assert.equal(await udpRequest('127.0.0.1', udpPort, 'ping'), 'usrv:ping');
  // 127.0.0.1:local is bound to loopback only: the gateway address (also this host's) is refused there.
  await assert.rejects(tcpRequest(gateway, local, 'no'), { code: 'ECONNREFUSED' });

  // DNAT: a host process connecting to its non-loopback address goes straight to the container.
  const before = await dnatPackets('OUTPUT', `${a1.ip}:7300`);
  assert.equal(await tcpRequest(gateway, fixed, 'via-dnat'), 'srv:via-dnat');
  assert.ok((await dnatPackets('OUTPUT', `${a1.ip}:7300`)) > before, 'the OUTPUT DNAT rule matched');

  // Conflicts: a port this engine holds (also through 127.0.0.1 against 0.0.0.0), a port another program holds.
  await assert.rejects(m.publish(name, c2, parsePublish(`127.0.0.1:${fixed}:80`)), (e: unknown) =>
    e instanceof TsdError && e.code === 'ALREADY_EXISTS' &&
    e.message === `driver failed programming external connectivity on endpoint other (${m.inspect(name).Containers[c2]!.EndpointID}): Bind for 127.0.0.1:${fixed} failed: port is already allocated`);
  const squatter = createServer();
  const held = await freePort();
  await new Promise<void>((resolve) => squatter.listen(held, '0.0.0.0', resolve));
  t.after(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
  const spare = await freePort();
  await assert.rejects(m.publish(name, c2, [...parsePublish(`${spare}:80`), ...parsePublish(`${held}:80`)]), {
    message: new RegExp(`: Error starting userland proxy: listen tcp4 0\\.0\\.0\\.0:${held}: bind: address already in use$`),
  });
  // All or nothing: the first binding of the failed request was undone, its port is free again.
  const probe = createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(spare, '0.0.0.0', resolve));
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  assert.equal((await exec('iptables', ['-w', '-t', 'nat', '-S'])).stdout.includes(`${a2.ip}:80`), false);

  // A daemon restart: closing the manager stops the proxies but keeps the DNAT rules (the container
  // lives on and stays reachable on the host's other addresses); a reopen publishes the same ports again.
  assert.deepEqual(m.publishedPorts(c1), toPortMap(handle.ports));
  await m.close();
  await assert.rejects(tcpRequest('127.0.0.1', fixed, 'down'), { code: 'ECONNREFUSED' });
  assert.equal(await tcpRequest(gateway, fixed, 'dnat-while-down'), 'srv:dnat-while-down');
  const m2 = await openManager(t, tracker, { stateDir: m.stateDir });
  assert.deepEqual(m2.restoreErrors, []);
  assert.deepEqual(m2.publishedPorts(c1), toPortMap(handle.ports));
  assert.equal(await tcpRequest('127.0.0.1', fixed, 'restored'), 'srv:restored');
  assert.equal(await tcpRequest('127.0.0.1', random, 'restored'), 'srv:restored');
  assert.equal(await udpRequest('127.0.0.1', udpPort, 'again'), 'usrv:again');
  await handle.close(); // a handle of the closed manager changes nothing
  assert.equal(await tcpRequest('127.0.0.1', fixed, 'still'), 'srv:still');

  // Unpublish: the proxy stops, the rules go, the ports are free.
  await m2.unpublish(name, c1);
  assert.deepEqual(m2.publishedPorts(c1), {});
  await assert.rejects(tcpRequest('127.0.0.1', fixed, 'gone'), { code: 'ECONNREFUSED' });
  const nat = (await exec('iptables', ['-w', '-t', 'nat', '-S'])).stdout;
  assert.equal(nat.includes(`${a1.ip}:7300`), false, nat);
  const again = await m2.publish(name, c2, parsePublish(`${fixed}:7300`));
  await again.close();
  // Disconnect unpublishes too.
  const last = await m2.publish(name, c1, parsePublish(`${fixed}:7300`));
  await m2.disconnectAll(c1);
  await assert.rejects(tcpRequest('127.0.0.1', last.ports[0]!.hostPort, 'gone'), { code: 'ECONNREFUSED' });
  await m2.disconnectAll(c2);
  await m2.remove(name);
});

test('nothing of this file is left: links, rules, namespace files, /run/netns names, processes', async (t) => {
  if (!need(t, { root: true })) return;
  assert.deepEqual(await leftovers(tracker), []);
});
