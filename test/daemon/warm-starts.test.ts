// tsdockerd prepares container starts ahead of time (--warm-starts, default 2): waiting shims and
// fresh network namespaces. A container is started by one of the shims, the pools refill, and the
// waiting shims go with the daemon.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDaemonArgs } from '../../engine/daemon/config.js';
import { writeBusyboxArchive } from '../helpers/busybox-image.js';
import { need, tempDir } from '../helpers/env.js';
import { startTsdockerd } from '../helpers/tsdockerd.js';

function parentOf(pid: number): number | undefined {
  try {
    return Number(/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
}

/** The daemon's waiting shims: its children running `shim.js --warm`. */
function warmShimsOf(daemonPid: number): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return parentOf(pid) === daemonPid && argv.some((a) => a.endsWith('shim.js')) && argv.includes('--warm');
    } catch {
      return false;
    }
  }).sort((a, b) => a - b);
}

function poolFiles(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('warm shims: a container starts in one the daemon started ahead, the pool refills, and they end with the daemon', { timeout: 120_000 }, async (t) => {
  if (!need(t, { programs: ['docker'], root: true })) return;
  const d = await startTsdockerd(t);
  const work = await tempDir(t, 'tsdd-warm-');
  const image = '127.0.0.1:9/tsdtest/busybox:latest';
  await writeBusyboxArchive(join(work, 'busybox.tar'), [image]);
  await d.docker(['load', '-i', join(work, 'busybox.tar')]);
  const before = await until('two warm shims', () => {
    const pids = warmShimsOf(d.pid);
    return pids.length === 2 ? pids : undefined;
  });

  t.after(() => d.docker(['rm', '-f', 'warm'], { allowFailure: true }));
  const run = await d.docker(['run', '-d', '--name', 'warm', '--network', 'none', image, 'sleep', '60']);
  const pid = Number((await d.docker(['inspect', '-f', '{{.State.Pid}}', 'warm'])).stdout.trim());
  assert.ok(pid > 0, run.stdout);
  const shim = parentOf(pid);
  assert.ok(shim !== undefined && before.includes(shim), `the container's shim ${shim} is one of the warm ones ${before.join(', ')}`);
  const after = await until('the pool refilled', () => {
    // The claimed shim stays the daemon's child, now serving the container.
    const pids = warmShimsOf(d.pid).filter((p) => p !== shim);
    return pids.length === 2 ? pids : undefined;
  });
  assert.equal((await d.docker(['exec', 'warm', 'echo', 'inside'])).stdout, 'inside\n');
  // Network namespaces: the pool opens with the network, and keeps two fresh ones.
  const netnsPool = join(d.dataRoot, 'network', 'netns-pool');
  await until('two warm network namespaces', () => (poolFiles(netnsPool).length === 2 ? true : undefined));
  const second = await d.docker(['run', '--rm', '--network', 'none', image, 'cat', '/proc/net/dev']);
  assert.doesNotMatch(second.stdout, /eth0/, 'a fresh namespace: only lo');
  await d.docker(['rm', '-f', 'warm']);

  await d.stop();
  await until('the waiting shims gone with the daemon', () => (after.every((p) => parentOf(p) === undefined) ? true : undefined), 10_000);
  assert.deepEqual(poolFiles(netnsPool), [], 'the warm namespaces are dropped on stop');
});

test('--warm-starts 0: no shim waits; containers still start (cold)', { timeout: 120_000 }, async (t) => {
  if (!need(t, { programs: ['docker'], root: true })) return;
  const d = await startTsdockerd(t, { extraArgs: ['--warm-starts', '0'] });
  const work = await tempDir(t, 'tsdd-cold-');
  const image = '127.0.0.1:9/tsdtest/busybox:latest';
  await writeBusyboxArchive(join(work, 'busybox.tar'), [image]);
  await d.docker(['load', '-i', join(work, 'busybox.tar')]);
  const run = await d.docker(['run', '--rm', '--network', 'none', image, 'echo', 'cold']);
  assert.equal(run.stdout, 'cold\n');
  assert.deepEqual(warmShimsOf(d.pid), []);
  assert.deepEqual(poolFiles(join(d.dataRoot, 'network', 'netns-pool')), []);
});

test('warm-starts setting: flag and daemon.json, 2 by default, negative refused', async () => {
  const plain = await parseDaemonArgs([]);
  assert.equal(plain.kind === 'run' && plain.config.warmStarts, 2);
  const flag = await parseDaemonArgs(['--warm-starts', '5']);
  assert.equal(flag.kind === 'run' && flag.config.warmStarts, 5);
  await assert.rejects(parseDaemonArgs(['--warm-starts', '-1']), /--warm-starts must be/);
});
