/**
 * Engine pull benchmark: a cold pull from a local registry of ours, side by side in one run, by
 *   ours    pullImage in this process (a fresh data root and engine per run; overlay by default)
 *   tsdocker `tsdocker pull` (the CLI, a Node start-up included) against a tsdockerd, rmi between runs
 *   docker  `docker pull` against a private dockerd (test/helpers/dockerd.ts), the image removed between runs
 *   podman  `podman pull` with --root/--runroot in a fresh temp dir per run
 *   skopeo  `skopeo copy` to a fresh oci: directory (downloads only: no unpacking)
 * for two images built here from this machine's files: "big", ~56 MB compressed in 3 layers (like
 * a Debian base), and "small", 25 small layers. Medians of a few runs; the ratio column is
 * peer time / ours, so >1 means ours is faster.
 *
 *   node dist/bench/engine-pull.js [--reps 3] [--tools ours,tsdocker,docker,podman,skopeo] [--images big,small]
 *                                  [--driver overlay|vfs] [--prof DIR] [--keep-going]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from 'node:inspector/promises';
import { writeFile, mkdir } from 'node:fs/promises';
import { openEngine } from '../engine/images/open-engine.js';
import { pullImage } from '../engine/images/pull.js';
import { startDockerd, type PrivateDockerd } from '../test/helpers/dockerd.js';
import { hasProgram } from '../test/helpers/env.js';
import { startTsdockerd, type RunningTsdockerd } from '../test/helpers/tsdockerd.js';
import { run } from '../test/helpers/run.js';
import { hostLayer, imageOf, smallLayer, writeLayout, type BuiltImage } from './lib/host-image.js';
import { RegistryProcess } from './lib/servers.js';
import { fmt, median, table } from './lib/stats.js';

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
type Tool = 'ours' | 'tsdocker' | 'docker' | 'podman' | 'skopeo';
const allTools: Tool[] = ['ours', 'tsdocker', 'docker', 'podman', 'skopeo'];

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const reps = Number(option('--reps') ?? 3);
const tools = (option('--tools')?.split(',') ?? allTools) as Tool[];
const imageNames = option('--images')?.split(',') ?? ['big', 'small'];
const driver = (option('--driver') ?? 'overlay') as 'overlay' | 'vfs';
const profDir = option('--prof');

const cleanups: Array<() => unknown> = [];
const hooks = { after: (fn: () => unknown) => void cleanups.push(fn) };

/** Unmount whatever a peer left mounted below `dir`, then remove it. */
async function removeTree(dir: string): Promise<void> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const mounts = info
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined && (p === dir || p.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run('umount', ['-l', m], { allowFailure: true });
  await rm(dir, { recursive: true, force: true });
}

async function buildImages(): Promise<Map<string, BuiltImage>> {
  const out = new Map<string, BuiltImage>();
  const MB = 1e6;
  const libdir = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];
  if (imageNames.includes('big')) {
    const t0 = Date.now();
    const layers = [
      await hostLayer(libdir, 28 * MB),
      await hostLayer(['/usr/share/locale', '/usr/share/man', '/usr/share/doc', '/usr/share/i18n', '/usr/share'], 17 * MB),
      await hostLayer(['/usr/lib/python3', '/usr/share/perl', '/usr/lib/gcc', '/usr/share/vim', '/usr/bin'], 11 * MB),
    ];
    out.set('big', imageOf(layers));
    console.error(`built "big" in ${Date.now() - t0} ms: ${layers.map((l) => `${(l.size / MB).toFixed(1)} MB (${(l.tarSize / MB).toFixed(1)} MB, ${l.files} files)`).join(', ')}`);
  }
  if (imageNames.includes('small')) {
    const layers = [];
    for (let i = 0; i < 25; i++) layers.push(await smallLayer(i, 8, 4096));
    out.set('small', imageOf(layers));
  }
  return out;
}

interface Runner {
  /** Before the timed part (not timed). */
  prepare(ref: string): Promise<void>;
  pull(ref: string): Promise<void>;
  /** After it (not timed). */
  clean(ref: string): Promise<void>;
}

function oursRunner(): Runner {
  let dir = '';
  let engine: Awaited<ReturnType<typeof openEngine>> | undefined;
  let profiles = 0;
  return {
    async prepare() {
      dir = await mkdtemp(join(tmpdir(), 'tsd-bench-pull-'));
      engine = await openEngine({ dataRoot: dir, storageDriver: driver });
    },
    async pull(ref) {
      let session: Session | undefined;
      if (profDir) {
        session = new Session();
        session.connect();
        await session.post('Profiler.enable');
        await session.post('Profiler.start');
      }
      await pullImage(engine!, ref);
      if (session) {
        const { profile } = await session.post('Profiler.stop');
        await mkdir(profDir!, { recursive: true });
        await writeFile(join(profDir!, `pull-${profiles++}.cpuprofile`), JSON.stringify(profile));
        session.disconnect();
      }
    },
    async clean() {
      await engine?.close();
      engine = undefined;
      await removeTree(dir);
    },
  };
}

/** The path a user takes: the tsdocker CLI asking a running tsdockerd. */
function tsdockerRunner(d: RunningTsdockerd): Runner {
  const cli = (args: string[]) => run(process.execPath, [join(projectRoot, 'bin', 'tsdocker.js'), '-H', `unix://${d.socket}`, ...args]);
  return {
    async prepare() {},
    async pull(ref) {
      await cli(['pull', '-q', ref]);
    },
    async clean(ref) {
      // rmi removes the blobs and snapshots no other image uses: the next pull is cold again.
      await cli(['rmi', ref]);
    },
  };
}

function dockerRunner(d: PrivateDockerd): Runner {
  return {
    async prepare() {},
    async pull(ref) {
      await d.docker(['pull', '-q', ref]);
    },
    async clean(ref) {
      await d.docker(['rmi', ref]);
    },
  };
}

function podmanRunner(): Runner {
  let dir = '';
  const args = () => ['--root', join(dir, 'root'), '--runroot', join(dir, 'run'), '--storage-driver', driver === 'vfs' ? 'vfs' : 'overlay'];
  return {
    async prepare() {
      dir = await mkdtemp(join(tmpdir(), 'tsd-bench-podman-'));
    },
    async pull(ref) {
      await run('podman', [...args(), 'pull', '-q', '--tls-verify=false', ref]);
    },
    async clean() {
      await run('podman', [...args(), 'system', 'reset', '-f'], { allowFailure: true });
      await removeTree(dir);
    },
  };
}

function skopeoRunner(): Runner {
  let dir = '';
  return {
    async prepare() {
      dir = await mkdtemp(join(tmpdir(), 'tsd-bench-skopeo-'));
    },
    async pull(ref) {
      await run('skopeo', ['copy', '-q', '--src-tls-verify=false', `docker://${ref}`, `oci:${join(dir, 'layout')}:t`]);
    },
    async clean() {
      await removeTree(dir);
    },
  };
}

async function main(): Promise<void> {
  for (const p of ['skopeo', ...(tools.includes('docker') ? ['dockerd', 'docker'] : []), ...(tools.includes('podman') ? ['podman'] : [])]) {
    if (!hasProgram(p)) throw new Error(`${p} is not installed`);
  }
  const started = Date.now();
  const work = await mkdtemp(join(tmpdir(), 'tsd-bench-engine-pull-'));
  cleanups.push(() => rm(work, { recursive: true, force: true }));
  const images = await buildImages();
  await writeLayout(join(work, 'layout'), [...images].map(([tag, image]) => ({ tag, image })));
  const registry = await RegistryProcess.start({ kind: 'tsdocker', projectRoot, logDir: work, label: 'registry' });
  cleanups.push(() => registry.stop());
  const host = new URL(registry.url).host;
  for (const name of images.keys()) {
    await run('skopeo', ['copy', '-q', '--preserve-digests', '--dest-tls-verify=false', `oci:${join(work, 'layout')}:${name}`, `docker://${host}/bench/${name}:1`]);
  }
  const runners = new Map<Tool, Runner>();
  for (const tool of tools) {
    if (tool === 'ours') runners.set(tool, oursRunner());
    if (tool === 'tsdocker') runners.set(tool, tsdockerRunner(await startTsdockerd(hooks, { storageDriver: driver })));
    if (tool === 'docker') runners.set(tool, dockerRunner(await startDockerd(hooks)));
    if (tool === 'podman') runners.set(tool, podmanRunner());
    if (tool === 'skopeo') runners.set(tool, skopeoRunner());
  }

  const results = new Map<string, Map<Tool, number[]>>();
  for (const name of images.keys()) {
    const ref = `${host}/bench/${name}:1`;
    const times = new Map<Tool, number[]>(tools.map((t) => [t, []]));
    results.set(name, times);
    for (let rep = 0; rep < reps; rep++) {
      // Rotate the order so a burst of load elsewhere does not always hit the same tool.
      const order = tools.map((_, i) => tools[(i + rep) % tools.length]!);
      for (const tool of order) {
        const runner = runners.get(tool)!;
        await runner.prepare(ref);
        const t0 = process.hrtime.bigint();
        await runner.pull(ref);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        await runner.clean(ref);
        times.get(tool)!.push(ms);
        console.error(`${name} ${tool} run ${rep + 1}: ${ms.toFixed(0)} ms`);
      }
    }
  }

  // Ratios against what a user runs (the CLI + daemon) when measured, else the in-process pull.
  const base: Tool | undefined = tools.includes('tsdocker') ? 'tsdocker' : tools.includes('ours') ? 'ours' : undefined;
  const peers = tools.filter((t) => t !== 'ours' && t !== 'tsdocker');
  const header = ['image', ...tools.map((t) => `${t} s`), ...(base ? peers.map((p) => `${p}/${base}`) : [])];
  const rows = [...results].map(([name, times]) => {
    const med = new Map(tools.map((t) => [t, median(times.get(t)!) / 1000]));
    const img = images.get(name)!;
    const size = img.layers.reduce((n, l) => n + l.size, 0) / 1e6;
    return [
      `${name} (${img.layers.length} layers, ${size.toFixed(1)} MB)`,
      ...tools.map((t) => fmt(med.get(t))),
      ...(base ? peers.map((p) => fmt(med.get(p)! / med.get(base)!)) : []),
    ];
  });
  console.log(`\ncold pull from a local tsdocker-registry, ${driver}, median of ${reps} (ratio = peer time / ${base ?? 'ours'}: >1 means ours is faster)\n`);
  console.log(table(header, rows, header.map((_, i) => i > 0)));
  console.log(`\n(${((Date.now() - started) / 1000).toFixed(0)} s in all; skopeo only downloads, it does not unpack)`);
  const versions = [
    ['docker', ['version', '--format', 'dockerd {{.Server.Version}}']],
    ['podman', ['--version']],
    ['skopeo', ['--version']],
  ] as const;
  for (const [p, a] of versions) {
    if (p === 'docker') continue;
    try {
      console.log(execFileSync(p, [...a], { encoding: 'utf8' }).trim());
    } catch {
      /* not there */
    }
  }
}

try {
  await main();
} finally {
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch (err) {
      console.error(`cleanup: ${(err as Error).message}`);
    }
  }
}
