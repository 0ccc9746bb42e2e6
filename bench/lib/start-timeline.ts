/**
 * Where a cold start of our runtime spends its time: `perf record` of a few kernel tracepoints
 * (exec, exit, unshare, sethostname, execve, writes on fd 3), system-wide on CLOCK_MONOTONIC, while
 * this process creates, starts, waits for and removes containers and marks each step with
 * process.hrtime (the same clock). The shim's and init's PIDs come from state.json, so the
 * events of each run are picked out exactly. Tracepoints cost next to nothing, unlike strace,
 * which slows Node's start-up several times over.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { buildSpec, createContainer } from '../../engine/runtime/index.js';
import type { Snapshotter } from '../../engine/snapshots/index.js';
import { run } from '../../test/helpers/run.js';
import { median } from './stats.js';

interface TraceEvent {
  time: number;
  pid: number;
  event: string;
  args: string;
}

interface RunMarks {
  shimPid: number;
  initPid: number;
  begin: number;
  created: number;
  started: number;
  waited: number;
  removing: number;
  removed: number;
}

const EVENTS = [
  'sched:sched_process_exec',
  'sched:sched_process_exit',
  'syscalls:sys_enter_unshare',
  'syscalls:sys_enter_sethostname',
  'syscalls:sys_enter_execve',
  'syscalls:sys_enter_write',
];

const seconds = (): number => Number(process.hrtime.bigint()) / 1e9;

function parsePerfScript(text: string): TraceEvent[] {
  const out: TraceEvent[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\/\d+\s+([\d.]+):\s+(\S+):\s*(.*)$/.exec(line);
    if (m) out.push({ pid: Number(m[1]), time: Number(m[2]), event: m[3]!.split(':').pop()!, args: m[4]! });
  }
  return out;
}

/** Start perf on every CPU; resolves once it records (its first lines on stderr, or a short wait). */
async function startPerf(file: string): Promise<{ stop(): Promise<void> }> {
  const args = ['record', '-q', '-k', 'mono', '-a', ...EVENTS.flatMap((e) => ['-e', e]), '--filter', 'fd == 3', '-o', file];
  const child = spawn('perf', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
  await new Promise((r) => setTimeout(r, 1000));
  if (child.exitCode !== null) throw new Error(`perf record failed: ${stderr.trim()}`);
  return {
    async stop() {
      process.kill(child.pid!, 'SIGINT');
      await closed;
    },
  };
}

/** Cold starts of `true` under perf; returns the table's rows: [phase, median ms, min, max]. */
export async function coldStartTimeline(options: { snapshotter: Snapshotter; parent: string; stateRoot: string; cgroupParent: string; dir: string; runs: number }): Promise<string[][]> {
  const { snapshotter, parent, stateRoot, cgroupParent, dir, runs } = options;
  const file = join(dir, 'perf.data');
  const marks: RunMarks[] = [];
  const once = async (n: number): Promise<RunMarks> => {
    const key = `timeline-${n}`;
    const mounts = await snapshotter.prepare(key, parent);
    const begin = seconds();
    const c = await createContainer(buildSpec(mounts, {}, { cmd: ['true'], network: 'none' }), { stateRoot, cgroupParent });
    const created = seconds();
    await c.start();
    const started = seconds();
    await c.wait();
    const waited = seconds();
    const state = await c.inspectState(); // the PIDs; not counted
    const removing = seconds();
    await c.remove();
    const removed = seconds();
    await snapshotter.remove(key);
    return { shimPid: state.shimPid!, initPid: state.pid!, begin, created, started, waited, removing, removed };
  };
  await once(-1); // page cache and the cgroup parent, outside the trace
  const perf = await startPerf(file);
  try {
    for (let n = 0; n < runs; n++) marks.push(await once(n));
  } finally {
    await perf.stop();
  }
  const script = await run('perf', ['script', '-i', file, '-F', 'pid,tid,time,event,trace'], { timeoutMs: 60_000 });
  const events = parsePerfScript(script.stdout);

  const phases = new Map<string, number[]>();
  const add = (name: string, a: number | undefined, b: number | undefined): void => {
    if (a === undefined || b === undefined) return;
    phases.set(name, [...(phases.get(name) ?? []), (b - a) * 1000]);
  };
  for (const m of marks) {
    const of = (pid: number, event: string, after = m.begin, match = ''): number | undefined =>
      events.find((e) => e.pid === pid && e.event === event && e.time >= after && e.time <= m.removed && e.args.includes(match))?.time;
    const shimExec = of(m.shimPid, 'sched_process_exec');
    const shimUnshare = of(m.shimPid, 'sys_enter_unshare');
    const initExec = of(m.initPid, 'sched_process_exec');
    const initReady = of(m.initPid, 'sys_enter_write', initExec);
    const initUnshare = of(m.initPid, 'sys_enter_unshare');
    const hostname = of(m.initPid, 'sys_enter_sethostname');
    const execve = of(m.initPid, 'sys_enter_execve', hostname);
    const exit = of(m.initPid, 'sched_process_exit', execve, 'group_dead=true');
    add('createContainer (state dir, cgroup paths)', m.begin, m.created);
    add('start: spawn the shim (fork + exec of node)', m.created, shimExec);
    add('shim: Node start-up + imports (koffi) until unshare', shimExec, shimUnshare);
    add('shim: unshare, spawn the init', shimUnshare, initExec);
    add('init: Node start-up + imports (koffi) until ready', initExec, initReady);
    add('init: request read until unshare(NET)', initReady, initUnshare);
    add('init: namespaces, mounts, pivot_root', initUnshare, hostname);
    add('init: lo up, cgroup join, user, caps until execve', hostname, execve);
    add('execve + `true` runs', execve, exit);
    add('`true` exits until start() resolves (may be < 0)', exit, m.started);
    add('wait() resolves', m.started, m.waited);
    add('remove() (waits for the shim to exit, cgroup, state dir)', m.removing, m.removed);
    add('total', m.begin, m.waited - m.removing + m.removed);
  }
  const f = (x: number): string => x.toFixed(1);
  return [...phases].map(([name, xs]) => [name, f(median(xs)), f(Math.min(...xs)), f(Math.max(...xs)), String(xs.length)]);
}
