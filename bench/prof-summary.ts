/**
 * Summarise a V8 .cpuprofile (from `--node-args "--cpu-prof --cpu-prof-dir=DIR"`): self time by
 * function and total (inclusive) time for project functions.
 *   node dist/bench/prof-summary.js FILE.cpuprofile [TOP] [--trace S3TRACE.jsonl --match REGEX]
 * With --trace (a trace from bench/s3-trace.ts, recorded in the same server run) only samples taken
 * while a registry request matching REGEX ("METHOD /path", e.g. '^GET /v2/bench/large/blobs/') was
 * in flight are counted.
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  if (i < 0) return undefined;
  const v = argv[i + 1];
  argv.splice(i, 2);
  return v;
};
const traceFile = flag('--trace');
const match = flag('--match');
const file = argv[0];
if (!file || (traceFile && !match)) {
  console.error('usage: node dist/bench/prof-summary.js FILE.cpuprofile [TOP] [--trace S3TRACE.jsonl --match REGEX]');
  process.exit(2);
}
const top = Number(argv[1] ?? 25);
const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;

// Time windows (µs, the profile's clock) of the matching requests, merged.
let windows: Array<[number, number]> | undefined;
if (traceFile) {
  const re = new RegExp(match!);
  const spans = readFileSync(traceFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { kind?: string; method: string; path: string; hr0: number; hr1: number })
    .filter((l) => l.kind === 'req' && re.test(`${l.method} ${l.path}`))
    .map((l): [number, number] => [l.hr0, l.hr1])
    .sort((a, b) => a[0] - b[0]);
  windows = [];
  for (const w of spans) {
    const last = windows[windows.length - 1];
    if (last && w[0] <= last[1]) last[1] = Math.max(last[1], w[1]);
    else windows.push([...w]);
  }
  const us = windows.reduce((a, [x, y]) => a + y - x, 0);
  console.log(`${spans.length} matching requests, ${(us / 1e6).toFixed(2)} s in flight`);
}
const inWindow = (t: number): boolean => {
  if (!windows) return true;
  for (const [a, b] of windows) if (t >= a && t < b) return true;
  return false;
};
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// Time per sample: timeDeltas[i] precedes samples[i]; attribute the next delta to the sample.
const selfUs = new Map<number, number>();
let clock = p.startTime;
for (let i = 0; i < p.samples.length; i++) {
  clock += p.timeDeltas[i] ?? 0;
  if (!inWindow(clock)) continue;
  const dt = p.timeDeltas[i + 1] ?? 0;
  selfUs.set(p.samples[i]!, (selfUs.get(p.samples[i]!) ?? 0) + dt);
}
const label = (n: Node) => {
  const f = n.callFrame;
  const url = f.url.replace(/^file:\/\/.*?\/(dist|node_modules)\//, '$1/');
  return `${f.functionName || '(anonymous)'} ${url ? `${url}:${f.lineNumber + 1}` : ''}`.trim();
};
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
const idle = [...selfUs.entries()]
  .filter(([id]) => ['(idle)', '(program)', '(garbage collector)'].includes(byId.get(id)!.callFrame.functionName))
  .map(([id, us]) => `${byId.get(id)!.callFrame.functionName} ${((100 * us) / total).toFixed(1)}%`);
console.log(`profile ${((p.endTime - p.startTime) / 1e6).toFixed(1)} s; ${idle.join(', ')}`);

const self = new Map<string, number>();
const incl = new Map<string, number>();
for (const [id, us] of selfUs) {
  self.set(label(byId.get(id)!), (self.get(label(byId.get(id)!)) ?? 0) + us);
  const seen = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
    const l = label(byId.get(cur)!);
    if (seen.has(l)) continue;
    seen.add(l);
    incl.set(l, (incl.get(l) ?? 0) + us);
  }
}
const busy = total - [...selfUs.entries()].filter(([id]) => byId.get(id)!.callFrame.functionName === '(idle)').reduce((a, [, us]) => a + us, 0);
const show = (title: string, m: Map<string, number>, filter: (l: string) => boolean) => {
  console.log(`\n${title} (% of non-idle time)`);
  for (const [l, us] of [...m.entries()].filter(([l]) => filter(l)).sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * us) / busy).toFixed(1).padStart(6)}%  ${l}`);
  }
};
show('self time', self, (l) => !l.startsWith('(idle)'));
show('inclusive time, project code', incl, (l) => l.includes('dist/') && !l.includes('dist/bench'));
