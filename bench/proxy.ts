/**
 * Pull-through cache: a pull (manifest + every blob) straight from the upstream, through a mirror
 * that has nothing cached yet, and through a mirror that has it all — for tsdocker-registry and
 * for CNCF distribution in proxy mode, over the same upstream, in one run.
 *
 *   npm run build && node dist/bench/proxy.js [--layers 4] [--layer-mib 16] [--reps 3]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/helpers/env.js';

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => (argv.includes(name) ? Number(argv[argv.indexOf(name) + 1]) : fallback);
const layers = flag('--layers', 4);
const layerMiB = flag('--layer-mib', 16);
const reps = flag('--reps', 3);
const children: ChildProcess[] = [];

async function startServer(kind: 'ours' | 'distribution', work: string, extra: Record<string, unknown> = {}): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const root = await mkdtemp(join(work, `${kind}-`));
  const config = {
    version: 0.1,
    log: { level: 'error', accesslog: { disabled: true } },
    http: { addr: `127.0.0.1:${port}` },
    storage: { filesystem: { rootdirectory: join(root, 'data') }, delete: { enabled: true } },
    ...extra,
  };
  const file = join(root, 'config.yml');
  await writeFile(file, JSON.stringify(config)); // JSON is YAML
  const env = { ...process.env };
  delete env.AWS_CA_BUNDLE;
  const child =
    kind === 'ours'
      ? spawn(process.execPath, [join(projectRoot, 'bin', 'tsdocker-registry.js'), 'serve', file], { stdio: 'ignore', env })
      : spawn('/usr/bin/docker-registry', ['serve', file], { stdio: 'ignore', env });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/v2/`)).status < 500) return { url, child };
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${kind} did not start`);
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

function call(url: string, method: string, headers: Record<string, string> = {}, body?: Buffer): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: body ? { ...headers, 'content-length': String(body.length) } : headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Push an image of `layers` random layers to the upstream; returns the manifest's media type. */
async function seed(upstream: string, repo: string): Promise<void> {
  const blobs = Array.from({ length: layers }, () => randomBytes(layerMiB * 1024 * 1024));
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: blobs.map(sha) } }));
  for (const b of [config, ...blobs]) {
    const post = await call(`${upstream}/v2/${repo}/blobs/uploads/`, 'POST');
    const loc = new URL(String(post.headers.location), upstream);
    loc.searchParams.set('digest', sha(b));
    const put = await call(loc.toString(), 'PUT', { 'content-type': 'application/octet-stream' }, b);
    if (put.status !== 201) throw new Error(`seed blob: ${put.status} ${put.body}`);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: sha(config), size: config.length },
      layers: blobs.map((b) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: sha(b), size: b.length })),
    }),
  );
  const put = await call(`${upstream}/v2/${repo}/manifests/latest`, 'PUT', { 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' }, manifest);
  if (put.status !== 201) throw new Error(`seed manifest: ${put.status} ${put.body}`);
}

/** A pull as a client does it: manifest by tag, then every blob (4 in parallel), each verified. Returns seconds. */
async function pull(base: string, repo: string): Promise<number> {
  const started = process.hrtime.bigint();
  const m = await call(`${base}/v2/${repo}/manifests/latest`, 'GET', { accept: 'application/vnd.docker.distribution.manifest.v2+json' });
  if (m.status !== 200) throw new Error(`pull manifest from ${base}: ${m.status} ${m.body.toString().slice(0, 200)}`);
  const doc = JSON.parse(m.body.toString()) as { config: { digest: string }; layers: Array<{ digest: string }> };
  const digests = [doc.config.digest, ...doc.layers.map((l) => l.digest)];
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < digests.length) {
        const d = digests[next++]!;
        const b = await call(`${base}/v2/${repo}/blobs/${d}`, 'GET');
        if (b.status !== 200 || sha(b.body) !== d) throw new Error(`pull blob ${d} from ${base}: ${b.status}`);
      }
    }),
  );
  return Number(process.hrtime.bigint() - started) / 1e9;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'tsdocker-proxy-bench-'));
  const cleanup = async () => {
    await Promise.all(children.map(stop));
    await rm(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const upstream = await startServer('ours', work);
    await seed(upstream.url, 'library/bench');
    const megabytes = (layers * layerMiB * 1024 * 1024) / 1e6;
    const results: Record<string, Record<string, number[]>> = { ours: { uncached: [], cached: [] }, distribution: { uncached: [], cached: [] } };
    const direct: number[] = [];
    for (let r = 0; r < reps; r++) {
      direct.push(await pull(upstream.url, 'library/bench'));
      for (const kind of ['ours', 'distribution'] as const) {
        const mirror = await startServer(kind, work, { proxy: { remoteurl: upstream.url } });
        results[kind]!.uncached!.push(await pull(mirror.url, 'library/bench'));
        // distribution stores a blob after serving it: give both a moment, then pull again.
        await new Promise((res) => setTimeout(res, 500));
        results[kind]!.cached!.push(await pull(mirror.url, 'library/bench'));
        await stop(mirror.child);
      }
    }
    const d = median(direct);
    console.log(`pull of ${layers} x ${layerMiB} MiB (${megabytes.toFixed(0)} MB), median of ${reps}; direct from the upstream: ${d.toFixed(3)} s (${(megabytes / d).toFixed(0)} MB/s)\n`);
    console.log(`${'row'.padEnd(34)}${'ours'.padStart(10)}${'distribution'.padStart(14)}${'ratio'.padStart(8)}   vs direct (ours)`);
    for (const row of ['uncached', 'cached'] as const) {
      const ours = median(results.ours![row]!);
      const theirs = median(results.distribution![row]!);
      console.log(`${`pull through mirror, ${row} (s)`.padEnd(34)}${ours.toFixed(3).padStart(10)}${theirs.toFixed(3).padStart(14)}${(theirs / ours).toFixed(2).padStart(8)}   ${(d / ours).toFixed(2)}x`);
    }
    console.log('ratio = distribution / ours (>1: ours is faster); "vs direct" = direct time / mirror time (>1: the mirror is faster than the upstream itself)');
  } finally {
    await cleanup();
    agent.destroy();
  }
}

await main();
