// Container networking and volumes through the docker CLI on tsdockerd: --network none (only
// lo), the default bridge, a user network whose containers reach each other by name, network
// connect/disconnect/inspect/ls/rm, -p published on a loopback host port, --network host, and
// named volumes and bind mounts that outlive their containers.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { freePort } from '../helpers/env.js';
import { sleep } from '../helpers/oci-client.js';
import { freeSubnet, uniqueName } from '../network/lib.js';
import { IMAGE, useContainerDaemon, type ContainerDaemon } from './containers-fixture.js';

const TIMEOUT = { timeout: 180_000 };
const { ready, hooks: sharedScope } = useContainerDaemon(['busybox', 'ip', 'iptables'], TIMEOUT.timeout);

function removeAfter(t: TestContext, c: ContainerDaemon, ...names: string[]): void {
  t.after(() => c.d.docker(['rm', '-f', ...names], { allowFailure: true }));
}

/** Interfaces with an IPv4 address inside a container, as `name:address` (busybox ip). */
function interfaces(output: string): string[] {
  return output.trim().split('\n').map((l) => {
    const m = /^\d+:\s+(\S+)\s+inet\s+(\S+)/.exec(l);
    return m ? `${m[1]}:${m[2]}` : l;
  });
}

test('--network none has only lo; the default bridge gives eth0 an address of the daemon\'s --bip subnet', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  const none = await c.d.docker(['run', '--rm', '--network', 'none', IMAGE, 'ip', '-o', '-4', 'addr']);
  assert.deepEqual(interfaces(none.stdout), ['lo:127.0.0.1/8']);
  const links = await c.d.docker(['run', '--rm', '--network', 'none', IMAGE, 'sh', '-c', 'ls /sys/class/net']);
  assert.deepEqual(links.stdout.trim().split(/\s+/), ['lo']);
  const prefix = c.subnet.split('.').slice(0, 3).join('.');
  const bridged = await c.d.docker(['run', '--rm', IMAGE, 'sh', '-c', 'ip -o -4 addr; ip route']);
  const addrs = interfaces(bridged.stdout.split('\n').filter((l) => l.includes('inet')).join('\n'));
  assert.equal(addrs[0], 'lo:127.0.0.1/8');
  assert.match(addrs[1]!, new RegExp(`^eth0:${prefix.replace(/\./g, '\\.')}\\.\\d+/24$`));
  assert.match(bridged.stdout, new RegExp(`default via ${prefix.replace(/\./g, '\\.')}\\.1 dev eth0`));
  const ls = await c.d.docker(['network', 'ls', '--format', '{{.Name}} {{.Driver}}']);
  for (const row of ['bridge bridge', 'host host', 'none null']) assert.match(ls.stdout, new RegExp(`^${row}$`, 'm'));
});

test('two containers on a user network reach each other by name; connect, disconnect, inspect, rm', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  const net = uniqueName('tsdnet');
  const subnet = await freeSubnet(24);
  removeAfter(t, c, 'web', 'late');
  t.after(() => c.d.docker(['network', 'rm', net], { allowFailure: true }));
  const id = (await c.d.docker(['network', 'create', '--subnet', subnet, '--label', 'purpose=test', net])).stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const dup = await c.d.docker(['network', 'create', net], { allowFailure: true });
  assert.match(dup.stderr, new RegExp(`network with name ${net} already exists`));
  await c.d.docker(['run', '-d', '--name', 'web', '--network', net, '--network-alias', 'www', IMAGE, 'sh', '-c', 'echo served-by-web > /tmp/index.html; exec httpd -f -p 8080 -h /tmp']);
  const fetch = await c.d.docker(['run', '--rm', '--network', net, IMAGE, 'sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://web:8080/index.html && break; sleep 0.3; done; wget -qO- http://www:8080/index.html']);
  assert.equal(fetch.stdout, 'served-by-web\nserved-by-web\n', fetch.stderr);
  const inspect = JSON.parse((await c.d.docker(['network', 'inspect', net])).stdout)[0] as Record<string, any>;
  assert.equal(inspect.Id, id);
  assert.equal(inspect.IPAM.Config[0].Subnet, subnet);
  assert.equal(inspect.Labels.purpose, 'test');
  const endpoints = Object.values(inspect.Containers) as Array<{ Name: string; IPv4Address: string }>;
  assert.deepEqual(endpoints.map((e) => e.Name), ['web']);
  const webIp = endpoints[0]!.IPv4Address.split('/')[0]!;
  assert.equal((await c.d.docker(['inspect', '-f', `{{(index .NetworkSettings.Networks "${net}").IPAddress}}`, 'web'])).stdout.trim(), webIp);
  // The default bridge is isolated from the user network; connecting a container gives it a second interface there.
  await c.d.docker(['run', '-d', '--name', 'late', IMAGE, 'sleep', '1000']);
  const before = await c.d.docker(['exec', 'late', 'sh', '-c', `wget -T 2 -qO- http://${webIp}:8080/index.html`], { allowFailure: true });
  assert.notEqual(before.code, 0, 'the default bridge does not reach the user network');
  await c.d.docker(['network', 'connect', net, 'late']);
  const viaConnect = await c.d.docker(['exec', 'late', 'sh', '-c', 'ip -o -4 addr show eth1; wget -qO- http://web:8080/index.html']);
  assert.match(viaConnect.stdout, /eth1\s+inet/);
  assert.match(viaConnect.stdout, /served-by-web/);
  const busy = await c.d.docker(['network', 'rm', net], { allowFailure: true });
  assert.notEqual(busy.code, 0);
  assert.match(busy.stderr, /has active endpoints/);
  await c.d.docker(['network', 'disconnect', net, 'late']);
  const gone = await c.d.docker(['exec', 'late', 'ls', '/sys/class/net']);
  assert.deepEqual(gone.stdout.trim().split(/\s+/).sort(), ['eth0', 'lo']);
  await c.d.docker(['rm', '-f', 'web', 'late']);
  await c.d.docker(['network', 'rm', net]);
  const missing = await c.d.docker(['network', 'inspect', net], { allowFailure: true });
  assert.match(missing.stderr, new RegExp(`network ${net} not found`));
});

test('-p 127.0.0.1:PORT:80 is reachable from the host; docker port and ps show it; it goes with the container', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  removeAfter(t, c, 'pub');
  const port = await freePort();
  await c.d.docker(['run', '-d', '--name', 'pub', '-p', `127.0.0.1:${port}:80`, IMAGE, 'sh', '-c', 'echo published > /tmp/index.html; exec httpd -f -p 80 -h /tmp']);
  let body = '';
  for (let i = 0; i < 50 && body === ''; i++) {
    body = await fetch(`http://127.0.0.1:${port}/index.html`).then((r) => r.text(), () => '');
    if (body === '') await sleep(100);
  }
  assert.equal(body, 'published\n');
  assert.equal((await c.d.docker(['port', 'pub'])).stdout.trim(), `80/tcp -> 127.0.0.1:${port}`);
  assert.equal((await c.d.docker(['ps', '--filter', 'name=pub', '--format', '{{.Ports}}'])).stdout.trim(), `127.0.0.1:${port}->80/tcp`);
  const ports = JSON.parse((await c.d.docker(['inspect', '-f', '{{json .NetworkSettings.Ports}}', 'pub'])).stdout) as Record<string, Array<{ HostIp: string; HostPort: string }>>;
  assert.deepEqual(ports['80/tcp'], [{ HostIp: '127.0.0.1', HostPort: String(port) }]);
  await c.d.docker(['stop', '-t', '1', 'pub']);
  const after = await fetch(`http://127.0.0.1:${port}/index.html`).then(() => 'answered', () => 'refused');
  assert.equal(after, 'refused');
});

test('--network host shares the host\'s interfaces', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  const inside = await c.d.docker(['run', '--rm', '--network', 'host', IMAGE, 'sh', '-c', 'ls /sys/class/net']);
  assert.ok(inside.stdout.split(/\s+/).includes(c.bridge), inside.stdout);
});

test('named volumes outlive their containers; bind mounts (:ro too); volume ls, inspect, rm (in use: 409)', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  removeAfter(t, c, 'holder');
  const vol = uniqueName('tsdvol');
  t.after(() => c.d.docker(['volume', 'rm', '-f', vol], { allowFailure: true }));
  await c.d.docker(['run', '--rm', '-v', `${vol}:/data`, IMAGE, 'sh', '-c', 'echo kept > /data/file']);
  assert.equal((await c.d.docker(['run', '--rm', '-v', `${vol}:/data:ro`, IMAGE, 'sh', '-c', 'cat /data/file; touch /data/x 2>/dev/null || echo read-only'])).stdout, 'kept\nread-only\n');
  const info = JSON.parse((await c.d.docker(['volume', 'inspect', vol])).stdout)[0] as Record<string, string>;
  assert.equal(info.Name, vol);
  assert.equal(info.Driver, 'local');
  assert.equal(await readFile(join(info.Mountpoint!, 'file'), 'utf8'), 'kept\n');
  assert.match((await c.d.docker(['volume', 'ls', '--format', '{{.Name}}'])).stdout, new RegExp(`^${vol}$`, 'm'));
  await c.d.docker(['create', '--name', 'holder', '-v', `${vol}:/data`, IMAGE, 'true']);
  const inUse = await c.d.docker(['volume', 'rm', vol], { allowFailure: true });
  assert.notEqual(inUse.code, 0);
  assert.match(inUse.stderr, new RegExp(`remove ${vol}: volume is in use - \\[[0-9a-f]{64}\\]`));
  const mounts = JSON.parse((await c.d.docker(['inspect', '-f', '{{json .Mounts}}', 'holder'])).stdout) as Array<Record<string, unknown>>;
  assert.deepEqual(mounts.map((m) => [m.Type, m.Name, m.Destination, m.RW]), [['volume', vol, '/data', true]]);
  await c.d.docker(['rm', 'holder']);
  await c.d.docker(['volume', 'rm', vol]);
  assert.doesNotMatch((await c.d.docker(['volume', 'ls', '-q'])).stdout, new RegExp(vol));
  // Bind mounts: the host directory, read-write and read-only.
  const host = await mkdtemp(join(tmpdir(), 'tsd-bind-'));
  t.after(() => rm(host, { recursive: true, force: true }));
  await writeFile(join(host, 'in'), 'from-host\n');
  const bind = await c.d.docker(['run', '--rm', '-v', `${host}:/h`, IMAGE, 'sh', '-c', 'cat /h/in; echo from-container > /h/out']);
  assert.equal(bind.stdout, 'from-host\n');
  assert.equal(await readFile(join(host, 'out'), 'utf8'), 'from-container\n');
  const ro = await c.d.docker(['run', '--rm', '-v', `${host}:/h:ro`, IMAGE, 'sh', '-c', 'echo x > /h/nope 2>/dev/null || echo denied']);
  assert.equal(ro.stdout, 'denied\n');
  // An anonymous volume (-v /path) goes with its --rm container.
  const before = (await c.d.docker(['volume', 'ls', '-q'])).stdout.trim();
  await c.d.docker(['run', '--rm', '-v', '/anon', IMAGE, 'sh', '-c', 'echo x > /anon/y']);
  assert.equal((await c.d.docker(['volume', 'ls', '-q'])).stdout.trim(), before);
});

test('leaves no container, network, link, rule, namespace, shim or cgroup behind', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  await c.cleanup();
  assert.deepEqual(await c.leftovers(), []);
});
