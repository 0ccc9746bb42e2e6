/**
 * Warm shims: a container started from the pool behaves like a cold one (PID 1, hostname,
 * network none or host, TTY), waiting shims go away with the pool or with its owner process.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { WarmPool } from '../../engine/runtime/index.js';
import { processAlive } from '../../engine/runtime/state.js';
import { need } from '../helpers/env.js';
import { logOutput, readUntil, RuntimeFixture } from './fixture.js';

const isRoot = (): boolean => process.getuid?.() === 0;
const fx = RuntimeFixture.use({ before, after }, isRoot);

/** The kernel groups each session's processes for CPU time (autogroups) when it can. */
const hasAutogroups = ((): boolean => {
  try {
    return readFileSync('/proc/sys/kernel/sched_autogroup_enabled', 'utf8').trim() === '1';
  } catch {
    return false;
  }
})();

const sessionNice = (pid: number): string | undefined => /nice (-?\d+)/.exec(readFileSync(`/proc/${pid}/autogroup`, 'utf8'))?.[1];

/** Children of `pid` (host view). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
    } catch {
      return false;
    }
  });
}

async function gone(pids: number[], timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (pids.every((p) => !processAlive(p, undefined))) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

test('containers started from warm shims: PID 1, hostname, network none and host, a TTY', async (t) => {
  if (!need(t, { root: true })) return;
  const pool = new WarmPool(2);
  t.after(() => pool.close());
  await pool.ready();
  assert.equal(pool.waiting, 2);
  const warmPids = [];
  const a = await fx.create(t, { hostname: 'warm-a', cmd: ['sh', '-c', 'echo $$; hostname; ls /sys/class/net; cat /proc/self/autogroup'] });
  await a.start({ pool });
  warmPids.push((await a.inspectState()).shimPid);
  assert.equal((await a.wait()).exitCode, 0);
  const out = (await logOutput(a.logPath)).stdout.split('\n');
  assert.deepEqual(out.slice(0, 3), ['1', 'warm-a', 'lo']);
  // The waiting shim was background work; the claimed container's session is back to nice 0.
  if (hasAutogroups) assert.match(out[3] ?? '', /nice 0$/);

  const hostIfaces = readdirSync('/sys/class/net').sort();
  const b = await fx.create(t, { network: 'host', cmd: ['ls', '/sys/class/net'] });
  await b.start({ pool });
  warmPids.push((await b.inspectState()).shimPid);
  assert.equal((await b.wait()).exitCode, 0);
  assert.deepEqual((await logOutput(b.logPath)).stdout.trim().split('\n').sort(), hostIfaces);

  await pool.ready(); // refilled in the background
  const c = await fx.create(t, { tty: true, interactive: true, cmd: ['sh'] });
  await c.start({ pool });
  const s = await c.attach({ stdin: true });
  s.stdin.write('tty; exit 4\n');
  await readUntil(s.stdout, /\/dev\/pts\/0/);
  assert.equal((await s.exit)?.exitCode, 4);
  assert.equal(new Set(warmPids).size, 2, 'each container had its own shim');
});

test('closing the pool ends the waiting shims and their inits', async (t) => {
  if (!need(t, { root: true })) return;
  const pool = new WarmPool(2);
  t.after(() => pool.close());
  await pool.ready();
  const shims = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('--warm') && childrenOf(process.pid).includes(p);
    } catch {
      return false;
    }
  });
  assert.equal(shims.length, 2);
  const inits = shims.flatMap(childrenOf);
  assert.equal(inits.length, 2, 'each warm shim has its init waiting');
  if (hasAutogroups) for (const p of [...shims, ...inits]) assert.equal(sessionNice(p), '19', `waiting process ${p} is background work`);
  await pool.close();
  assert.ok(await gone([...shims, ...inits]), 'warm shims or inits left running');
  assert.equal(pool.waiting, 0);
});

test('waiting shims exit when the process that owns the pool dies', async (t) => {
  if (!need(t, { root: true })) return;
  const owner = spawn(process.execPath, [fileURLToPath(new URL('./pool-owner.js', import.meta.url))], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.after(() => owner.kill('SIGKILL'));
  const line = await readUntil(owner.stdout, '\n');
  const shims = line.trim().split(' ').map(Number);
  assert.equal(shims.length, 2);
  const inits = shims.flatMap(childrenOf);
  assert.equal(inits.length, 2);
  owner.kill('SIGKILL');
  assert.ok(await gone([...shims, ...inits]), 'orphaned warm shims kept running');
});

test('leaves no cgroups, mounts or shims of its own behind', (t) => {
  if (!need(t, { root: true })) return;
  fx.assertNoLeftovers();
});
