/**
 * Measures start-to-exit of `/bin/true` (busybox) through the runtime: create + start + wait,
 * cold (a shim and an init started per container) and warm (a shim claimed from a WarmPool).
 * Not a test: `node dist/test/runtime/measure-start.js [runs]` (root). Prints medians in ms.
 */
import { execFileSync } from 'node:child_process';
import { rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { openSnapshotter } from '../../engine/snapshots/index.js';
import { buildSpec, createContainer, WarmPool } from '../../engine/runtime/index.js';
import { buildBusyboxRootfs, cgroupParentDirs } from './fixture.js';

const runs = Number(process.argv[2] ?? 15);
const dir = execFileSync('mktemp', ['-d', '/tmp/tsd-measure-XXXXXX'], { encoding: 'utf8' }).trim();
const cgroupParent = `tsdocker-measure-${process.pid}`;
const snap = await openSnapshotter({ root: join(dir, 'snap') });
await snap.prepare('base');
await buildBusyboxRootfs((await snap.applyTarget('base')).dir);
await snap.commit('busybox', 'base');

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function once(n: number, pool?: WarmPool): Promise<{ total: number; start: number }> {
  const mounts = await snap.prepare(`c${n}`, 'busybox');
  const t0 = performance.now();
  const c = await createContainer(buildSpec(mounts, {}, { cmd: ['/bin/true'] }), { stateRoot: join(dir, 'state'), cgroupParent });
  await c.start(pool ? { pool } : {});
  const t1 = performance.now();
  const status = await c.wait();
  const t2 = performance.now();
  if (status.exitCode !== 0) throw new Error(`exit ${status.exitCode}`);
  await c.remove();
  await snap.remove(`c${n}`);
  return { total: t2 - t0, start: t1 - t0 };
}

const results: Record<string, { total: number[]; start: number[] }> = { cold: { total: [], start: [] }, warm: { total: [], start: [] } };
let n = 0;
for (let i = 0; i < runs; i++) {
  const r = await once(n++);
  results.cold!.total.push(r.total);
  results.cold!.start.push(r.start);
}
const pool = new WarmPool(1);
for (let i = 0; i < runs; i++) {
  await pool.ready(); // measured with a warm shim waiting (the refill happens between runs)
  const r = await once(n++, pool);
  results.warm!.total.push(r.total);
  results.warm!.start.push(r.start);
}
await pool.close();
for (const [mode, r] of Object.entries(results)) {
  console.log(`${mode}: create+start+wait of /bin/true, median of ${runs}: ${median(r.total).toFixed(1)} ms (create+start ${median(r.start).toFixed(1)} ms; min ${Math.min(...r.total).toFixed(1)}, max ${Math.max(...r.total).toFixed(1)})`);
}
for (const d of cgroupParentDirs(cgroupParent)) rmdirSync(d);
execFileSync('rm', ['-rf', dir]);
