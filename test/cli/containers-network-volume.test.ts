// tsdocker network and volume commands next to the docker CLI on the same daemon (each of
// container-daemons.ts). Bridges get an internal /28 at random in 198.18.0.0/15 (RFC 2544's
// benchmarking range, never a private range the machine may use) and are removed afterwards.
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { describe, test } from 'node:test';
import { TEST_TIMEOUT } from '../interop/harness.js';
import { daemonFactories, uniqueName, useDaemon, type Suite } from './container-daemons.js';
import { asTsdocker, show, type CliResult } from './harness.js';

function sameOutcome(ours: CliResult, theirs: CliResult, what: string): void {
  assert.equal(ours.code, theirs.code, `${what}: exit status\n${show(ours)}\n${show(theirs)}`);
  assert.equal(ours.stdout, theirs.stdout, `${what}: stdout`);
  assert.equal(ours.stderr, asTsdocker(theirs.stderr), `${what}: stderr`);
}

async function same(s: Suite, args: string[]): Promise<CliResult> {
  const ours = await s.cli.tsdocker(args);
  const theirs = await s.cli.docker(args);
  sameOutcome(ours, theirs, args.join(' '));
  return ours;
}

function testSubnet(): { subnet: string; gateway: string } {
  const base = (randomInt(0, 2) << 16) | (randomInt(0, 4096) << 4);
  const octets = (n: number) => [198, 18 + ((n >> 16) & 1), (n >> 8) & 255, n & 255].join('.');
  return { subnet: `${octets(base)}/28`, gateway: octets(base + 1) };
}

for (const daemon of daemonFactories) {
  describe(`network and volume commands against ${daemon.name}`, () => {
    const ready = useDaemon(daemon);

    test('network create, ls, inspect and rm: docker\'s output for networks made by either CLI', TEST_TIMEOUT, async (t) => {
      const s = ready(t, 'networks');
      if (!s) return;
      const ours = uniqueName('net-ts');
      const theirs = uniqueName('net-docker');
      t.after(() => s.cli.docker(['network', 'rm', ours, theirs]));
      const a = testSubnet();
      const b = testSubnet();
      const flags = (n: { subnet: string; gateway: string }) => ['--internal', '--subnet', n.subnet, '--gateway', n.gateway, '--label', 'suite=cli', '-o', 'com.docker.network.bridge.enable_icc=true'];
      const created = await s.cli.tsdocker(['network', 'create', ...flags(a), ours]);
      assert.equal(created.code, 0, show(created));
      assert.match(created.stdout, /^[0-9a-f]{64}\n$/);
      assert.equal((await s.cli.docker(['network', 'create', ...flags(b), theirs])).code, 0);
      const view = async (name: string) => {
        const [n] = JSON.parse((await s.cli.docker(['network', 'inspect', name])).stdout) as Array<Record<string, any>>;
        return { Driver: n!.Driver, Internal: n!.Internal, Attachable: n!.Attachable, EnableIPv6: n!.EnableIPv6, Options: n!.Options, Labels: n!.Labels, IPAMDriver: n!.IPAM.Driver, IPAM: n!.IPAM.Config.length };
      };
      assert.deepEqual(await view(ours), await view(theirs));
      assert.equal((await s.cli.tsdocker(['network', 'inspect', '-f', '{{json .IPAM.Config}}', ours])).stdout, `${JSON.stringify([{ Subnet: a.subnet, Gateway: a.gateway }])}\n`);

      for (const args of [
        ['network', 'ls'],
        ['network', 'ls', '--no-trunc'],
        ['network', 'ls', '-q'],
        ['network', 'ls', '--filter', 'label=suite=cli', '--format', '{{.Name}} {{.Driver}} {{.Scope}} {{.Internal}} {{.IPv6}} {{.Labels}}'],
        ['network', 'ls', '--format', 'table {{.Name}}\t{{.Driver}}'],
        ['network', 'list', '--filter', `name=${ours}`],
        ['network', 'inspect', ours],
        ['network', 'inspect', '-f', '{{.Name}} {{.Scope}}', ours, theirs],
        ['network', 'inspect', 'no-such-network'],
        ['inspect', '--type', 'network', '-f', '{{.Name}}', ours],
        ['network', 'create', ours],
        ['network', 'rm', 'no-such-network'],
        ['network', 'rm', '-f', 'no-such-network'],
      ]) {
        await same(s, args);
      }
      const rm = await s.cli.tsdocker(['network', 'rm', ours, 'no-such-network']);
      assert.equal(rm.code, 1);
      assert.equal(rm.stdout, `${ours}\n`);
      assert.match(rm.stderr, /^Error response from daemon: .*no-such-network.*\nexit status 1\n$/);
    });

    test('network connect and disconnect a container; prune removes the unused ones', TEST_TIMEOUT, async (t) => {
      const s = ready(t, 'networks', 'containers');
      if (!s) return;
      const first = uniqueName('net-first');
      const second = uniqueName('net-second');
      const container = uniqueName('net-ctr');
      t.after(async () => {
        await s.cli.docker(['rm', '-f', container]);
        await s.cli.docker(['network', 'rm', first, second]);
      });
      for (const name of [first, second]) {
        const n = testSubnet();
        assert.equal((await s.cli.docker(['network', 'create', '--internal', '--subnet', n.subnet, name])).code, 0);
      }
      assert.equal((await s.cli.docker(['create', '--name', container, '--network', first, s.image, 'true'])).code, 0);
      const connect = await s.cli.tsdocker(['network', 'connect', '--alias', 'web', second, container]);
      assert.equal(connect.code, 0, show(connect));
      assert.equal(connect.stdout, '');
      const networks = JSON.parse((await s.cli.docker(['inspect', '-f', '{{json .NetworkSettings.Networks}}', container])).stdout) as Record<string, { Aliases: string[] | null }>;
      assert.deepEqual(Object.keys(networks).sort(), [first, second].sort());
      assert.ok(networks[second]!.Aliases?.includes('web'), JSON.stringify(networks));
      await same(s, ['network', 'connect', second, container]);
      await same(s, ['network', 'connect', second, 'no-such-container']);
      const disconnect = await s.cli.tsdocker(['network', 'disconnect', second, container]);
      assert.equal(disconnect.code, 0, show(disconnect));
      assert.equal((await s.cli.docker(['inspect', '-f', '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}', container])).stdout, `${first}\n`);
      await same(s, ['network', 'disconnect', second, container]);

      // No running container uses them (a created one has no endpoint yet): prune removes both.
      const prune = await s.cli.tsdocker(['network', 'prune', '-f']);
      assert.equal(prune.code, 0, show(prune));
      assert.match(prune.stdout, new RegExp(`^Deleted Networks:\\n(.+\\n)*${second}\\n(.+\\n)*\\n$`));
      assert.equal((await s.cli.docker(['network', 'ls', '-q', '--filter', `name=${second}`])).stdout, '');
      const declined = await s.cli.tsdocker(['network', 'prune'], { input: 'n\n' });
      assert.equal(declined.stdout, 'WARNING! This will remove all custom networks not used by at least one container.\nAre you sure you want to continue? [y/N] ');
    });

    test('volume create, ls, inspect, rm and prune as docker does them; data kept between containers', TEST_TIMEOUT, async (t) => {
      const s = ready(t, 'volumes');
      if (!s) return;
      const named = uniqueName('vol');
      t.after(() => s.cli.docker(['volume', 'rm', '-f', named]));
      const created = await s.cli.tsdocker(['volume', 'create', '--label', 'suite=cli', named]);
      assert.equal(created.code, 0, show(created));
      assert.equal(created.stdout, `${named}\n`);
      assert.equal((await s.cli.tsdocker(['volume', 'create', named])).stdout, `${named}\n`, 'creating it again is fine');
      const anonymous = await s.cli.tsdocker(['volume', 'create']);
      assert.match(anonymous.stdout, /^[0-9a-f]{64}\n$/);
      t.after(() => s.cli.docker(['volume', 'rm', '-f', anonymous.stdout.trim()]));
      for (const args of [
        ['volume', 'ls'],
        ['volume', 'ls', '-q'],
        ['volume', 'ls', '--filter', 'label=suite=cli'],
        ['volume', 'ls', '--format', '{{.Name}} {{.Driver}} {{.Labels}} {{.Mountpoint}} {{.Scope}}'],
        ['volume', 'inspect', named],
        ['volume', 'inspect', '-f', '{{.Name}} {{.Driver}} {{.Labels}}', named],
        ['volume', 'inspect', 'no-such-volume'],
        ['inspect', '--type', 'volume', '-f', '{{.Name}}', named],
        ['volume', 'rm', 'no-such-volume'],
        ['volume', 'prune', '-a', '-f'],
      ]) {
        await same(s, args);
      }
      const declined = await s.cli.tsdocker(['volume', 'prune'], { input: 'n\n' });
      const dockerDeclined = await s.cli.docker(['volume', 'prune'], { input: 'n\n' });
      sameOutcome(declined, dockerDeclined, 'volume prune answered no');
      const rm = await s.cli.tsdocker(['volume', 'rm', anonymous.stdout.trim()]);
      assert.equal(rm.stdout, anonymous.stdout);
    });

    test('volumes in containers: data kept from one to the next, rm refused while in use, prune', TEST_TIMEOUT, async (t) => {
      const s = ready(t, 'volumes', 'containers');
      if (!s) return;
      const volume = uniqueName('data');
      const writer = uniqueName('writer');
      t.after(async () => {
        await s.cli.docker(['rm', '-f', writer]);
        await s.cli.docker(['volume', 'rm', '-f', volume]);
      });
      const write = await s.cli.tsdocker(['run', '--name', writer, '--network', 'none', '-v', `${volume}:/data`, s.image, 'sh', '-c', 'echo kept > /data/file']);
      assert.equal(write.code, 0, show(write));
      const read = await s.cli.tsdocker(['run', '--rm', '--network', 'none', '-v', `${volume}:/data:ro`, s.image, 'cat', '/data/file']);
      assert.equal(read.stdout, 'kept\n', show(read));
      const inUse = await s.cli.tsdocker(['volume', 'rm', volume]);
      const dockerInUse = await s.cli.docker(['volume', 'rm', volume]);
      sameOutcome(inUse, dockerInUse, 'volume rm while in use');
      assert.equal(inUse.code, 1);
      await s.cli.docker(['rm', writer]);
      const prune = await s.cli.tsdocker(['volume', 'prune', '-f']);
      assert.equal(prune.code, 0, show(prune));
      assert.match(prune.stdout, new RegExp(`^Deleted Volumes:\\n(.+\\n)*${volume}\\n(.+\\n)*\\nTotal reclaimed space: \\S+\\n$`));
      await same(s, ['volume', 'inspect', volume]);
    });
  });
}
