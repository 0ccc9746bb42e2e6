/**
 * Engine run benchmark (issue 7): start-to-exit latency of `true` in a busybox-sized image, side
 * by side in one run:
 *   ours, runtime library   engine/runtime in this process: snapshot + create + start + wait + remove, cold / warm pool
 *   ours, daemon            tsdockerd + `tsdocker run --rm` and + `docker run --rm` (when it has a container API)
 *   docker                  `docker run --rm --network none` on a private dockerd
 *   podman                  `podman run --rm --network none --runtime runc`, private --root/--runroot
 *   runc, crun              `runc run` / `crun run` of an OCI bundle on the same rootfs
 * Warm-up runs first, then N runs of each, interleaved (the order rotates every round). Prints
 * medians and p90 and the ratio row time / ours (>1: ours is faster). Needs root.
 *
 *   node dist/bench/engine-run.js [--runs 15] [--warmup 2] [--tools LIST] [--json FILE]
 *   node dist/bench/engine-run.js --timeline [--runs N]     (where our cold start spends its time; needs perf)
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WarmPool } from '../engine/runtime/index.js';
import { openSnapshotter, type Snapshotter } from '../engine/snapshots/index.js';
import { hasProgram } from '../test/helpers/env.js';
import { cgroupParentDirs } from '../test/runtime/fixture.js';
import { buildBusyboxRootfs, writeBusyboxArchive } from './lib/busybox-image.js';
import { removeTree } from './lib/remove-tree.js';
import { daemonRunners, dockerRunner, libraryRunner, ociRuntimeRunner, podmanRunner, type Runner, type Setup } from './lib/run-runners.js';
import { coldStartTimeline } from './lib/start-timeline.js';
import { fmt, median, table } from './lib/stats.js';

const allTools = ['ours-cold', 'ours-warm', 'daemon', 'docker', 'podman', 'runc', 'crun'] as const;
type Tool = (typeof allTools)[number];

const usage = `usage: node dist/bench/engine-run.js [--runs N] [--warmup N] [--tools ${allTools.join(',')}] [--json FILE]\n       node dist/bench/engine-run.js --timeline [--runs N]`;
function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(usage);
  process.exit(0);
}
const runs = Number(option('--runs') ?? 15);
const warmup = Number(option('--warmup') ?? 2);
const tools = (option('--tools')?.split(',') ?? [...allTools]) as Tool[];
const jsonOut = option('--json');
for (const t of tools) if (!allTools.includes(t)) throw new Error(`unknown tool ${t}\n${usage}`);
if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) throw new Error(`--runs must be >= 1 and --warmup >= 0\n${usage}`);

const IMAGE = 'tsd-bench-busybox:latest';

/** p-th percentile, nearest rank (p90 of 15 samples = the 14th smallest). */
function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length, Math.ceil((p / 100) * s.length)) - 1]!;
}

const loadavg = async (): Promise<string> => (await readFile('/proc/loadavg', 'utf8')).split(' ').slice(0, 3).join(' ');

const cleanups: Array<() => unknown> = [];
const hooks = { after: (fn: () => unknown) => void cleanups.push(fn) };
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error(`cleanup: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}
process.once('SIGINT', () => {
  console.error('\ninterrupted: cleaning up');
  void cleanup().then(() => process.exit(130));
});

interface Row {
  tool: Tool;
  label: string;
  runner?: Runner;
  /** Why this row has no numbers. */
  note?: string;
  times: number[];
  phases: Array<Record<string, number>>;
}

/** The busybox snapshot our runtime starts from, and a cgroup parent below this process's own. */
async function oursSetup(work: string): Promise<{ snapshotter: Snapshotter; parent: string; stateRoot: string; cgroupParent: string }> {
  const snapshotter = await openSnapshotter({ root: join(work, 'snap') });
  await snapshotter.prepare('base');
  await buildBusyboxRootfs((await snapshotter.applyTarget('base')).dir);
  await snapshotter.commit('busybox', 'base');
  const cgroupParent = `tsd-bench-run-${process.pid}`;
  hooks.after(async () => {
    for (const d of cgroupParentDirs(cgroupParent)) await rmdir(d).catch((err: NodeJS.ErrnoException) => err.code === 'ENOENT' || Promise.reject(err));
  });
  return { snapshotter, parent: 'busybox', stateRoot: join(work, 'state'), cgroupParent };
}

async function setUp(work: string): Promise<Row[]> {
  const archive = await writeBusyboxArchive(join(work, 'image'), IMAGE);
  const rootfs = join(work, 'image', 'rootfs');
  const rows: Row[] = [];
  const add = (tool: Tool, label: string, setup: Setup): void => {
    rows.push(typeof setup === 'string' ? { tool, label, note: setup, times: [], phases: [] } : { tool, label: setup.label, runner: setup, times: [], phases: [] });
  };
  const attempt = async (tool: Tool, label: string, make: () => Promise<Setup>): Promise<void> => {
    try {
      add(tool, label, await make());
    } catch (err) {
      add(tool, label, `n/a: ${(err as Error).message.split('\n')[0]}`);
    }
  };

  if (tools.includes('ours-cold') || tools.includes('ours-warm')) {
    const common = await oursSetup(work);
    if (tools.includes('ours-cold')) add('ours-cold', '', libraryRunner({ ...common, label: 'ours: runtime library, cold' }));
    if (tools.includes('ours-warm')) {
      const pool = new WarmPool(1);
      hooks.after(() => pool.close());
      add('ours-warm', '', libraryRunner({ ...common, pool, label: 'ours: runtime library, warm pool' }));
    }
  }
  if (tools.includes('daemon')) {
    try {
      const d = await daemonRunners(hooks, archive, IMAGE);
      add('daemon', 'ours: tsdockerd + tsdocker run --rm', d.tsdocker);
      add('daemon', 'ours: tsdockerd + docker run --rm (docker CLI)', d.docker);
    } catch (err) {
      add('daemon', 'ours: tsdockerd + tsdocker run --rm', `n/a: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  if (tools.includes('docker')) await attempt('docker', 'docker run --rm', async () => (hasProgram('dockerd') ? dockerRunner(hooks, archive, IMAGE) : 'n/a: dockerd is not installed'));
  if (tools.includes('podman')) await attempt('podman', 'podman run --rm --runtime runc', async () => (hasProgram('podman') ? podmanRunner(hooks, join(work, 'podman'), archive, IMAGE) : 'n/a: podman is not installed'));
  for (const rt of ['runc', 'crun'] as const) {
    if (tools.includes(rt)) await attempt(rt, `${rt} run`, async () => (hasProgram(rt) ? ociRuntimeRunner(hooks, rt, join(work, rt), rootfs) : `n/a: ${rt} is not installed`));
  }
  return rows;
}

/** One run of a row; a failure takes the row out of the bench with the error as its note. */
async function runOnce(row: Row, n: number, record: boolean): Promise<void> {
  const r = row.runner!;
  try {
    await r.before?.();
    const t = await r.once(n);
    await r.after?.();
    if (record) {
      row.times.push(t.ms);
      if (t.phases) row.phases.push(t.phases);
    }
  } catch (err) {
    row.note = `failed: ${(err as Error).message.split('\n')[0]}`;
    row.runner = undefined;
  }
}

function versions(): string {
  const out = [`node ${process.version}`];
  for (const [p, args] of [['podman', ['--version']], ['runc', ['--version']], ['crun', ['--version']]] as const) {
    try {
      out.push(execFileSync(p, [...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0]!.trim());
    } catch {
      /* not installed */
    }
  }
  return out.join(', ');
}

/** --timeline: where our cold start spends its time, from kernel tracepoints (perf). */
async function timeline(): Promise<number> {
  if (!hasProgram('perf')) throw new Error('--timeline needs perf (Debian: linux-perf)');
  const loadBefore = await loadavg();
  const work = await mkdtemp(join(tmpdir(), 'tsd-brun-'));
  hooks.after(() => removeTree(work));
  const rows = await coldStartTimeline({ ...(await oursSetup(work)), dir: work, runs });
  console.log(`\nours through the library, cold: create + start + wait + remove of \`true\`, ${runs} runs under perf tracepoints (ms)\n`);
  console.log(table(['phase', 'median', 'min', 'max', 'runs'], rows, [false, true, true, true, true]));
  console.log(`\nmachine: ${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores, loadavg ${loadBefore} before, ${await loadavg()} after`);
  return 0;
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) throw new Error('engine-run needs root (namespaces, mounts, cgroups)');
  if (process.argv.includes('--timeline')) return timeline();
  const loadBefore = await loadavg();
  const started = Date.now();
  // Short: dockerd's containerd socket must fit in sun_path below it.
  const work = await mkdtemp(join(tmpdir(), 'tsd-brun-'));
  hooks.after(() => removeTree(work));
  const rows = await setUp(work);
  let dockerVersion = '';
  for (const r of rows) if (r.runner && 'version' in r.runner) dockerVersion = String(r.runner.version);
  const setupSeconds = (Date.now() - started) / 1000;

  let n = 0;
  for (let round = 0; round < warmup + runs; round++) {
    const live = rows.filter((r) => r.runner);
    // Rotate the order so that a burst of load elsewhere does not always hit the same tool.
    for (let i = 0; i < live.length; i++) await runOnce(live[(i + round) % live.length]!, n++, round >= warmup);
    process.stderr.write(round < warmup ? 'w' : '.');
  }
  process.stderr.write('\n');
  const loadAfter = await loadavg();

  const byTool = (t: Tool): number => median(rows.find((r) => r.tool === t && r.times.length)?.times ?? []);
  const cold = byTool('ours-cold');
  const warm = byTool('ours-warm');
  const header = ['', 'median ms', 'p90 ms', 'min ms', 'runs', ...(Number.isFinite(cold) ? ['/ ours cold'] : []), ...(Number.isFinite(warm) ? ['/ ours warm'] : [])];
  const body = rows.map((r) => {
    if (!r.times.length) return [r.label, 'n/a'];
    const m = median(r.times);
    return [
      r.label,
      fmt(m),
      fmt(percentile(r.times, 90)),
      fmt(Math.min(...r.times)),
      String(r.times.length),
      ...(Number.isFinite(cold) ? [fmt(m / cold)] : []),
      ...(Number.isFinite(warm) ? [fmt(m / warm)] : []),
    ];
  });
  console.log(`\nstart-to-exit of \`true\` in a busybox image (the same rootfs for all), ${runs} runs each after ${warmup} warm-up, interleaved`);
  console.log('ratio = the row\'s median / ours\' median: >1 means ours is faster\n');
  console.log(table(header, body, header.map((_, i) => i > 0)));
  for (const r of rows.filter((x) => x.note)) console.log(`  ${r.label}: ${r.note}`);

  const phaseRows = rows.filter((r) => r.phases.length);
  if (phaseRows.length) {
    const names = Object.keys(phaseRows[0]!.phases[0]!);
    console.log('\nours through the library, median ms per phase (snapshot = overlay prepare + remove; start = until the command runs)\n');
    console.log(table(['', ...names], phaseRows.map((r) => [r.label, ...names.map((p) => fmt(median(r.phases.map((x) => x[p]!))))]), [false, ...names.map(() => true)]));
  }
  console.log(`\nmachine: ${execFileSync('nproc', { encoding: 'utf8' }).trim()} cores, loadavg ${loadBefore} before, ${loadAfter} after; ${setupSeconds.toFixed(0)} s setup, ${((Date.now() - started) / 1000).toFixed(0)} s in all`);
  console.log(`${[dockerVersion, versions()].filter(Boolean).join(', ')}`);
  console.log('command-line rows include spawning the CLI from Node (a few ms); the library rows have no process start-up of their own');
  if (jsonOut) {
    const data = { runs, warmup, loadBefore, loadAfter, rows: rows.map(({ tool, label, note, times, phases }) => ({ tool, label, note, times, phases })) };
    await writeFile(jsonOut, `${JSON.stringify(data, null, 2)}\n`);
  }
  return rows.some((r) => r.note?.startsWith('failed')) ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} finally {
  await cleanup();
}
process.exit(code);
