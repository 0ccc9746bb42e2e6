/**
 * Push of one image to a local registry (ours, fresh and empty for every run) by the engine's
 * pushImage in-process, by `skopeo copy oci:DIR:TAG docker://...`, and by `docker push` from a
 * private dockerd (the image loaded into it beforehand), side by side in one run.
 *
 * Images, built once into a temp dir from host files (tar + gzip, so the bytes are real, not random):
 *   big:   3 layers, ~56 MB compressed (files under /usr/lib and /usr/share)
 *   small: 25 layers of ~40 kB compressed each
 * Each is an OCI layout with docker's manifest.json beside it, so the same tarball is loaded into
 * our engine and into dockerd, and skopeo reads the layout directory.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/engine-push.js [--runs 3] [--no-docker]
 *
 * Prints medians and ratios (peer time / ours: >1 means ours is faster).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { createGzip } from 'node:zlib';
import { load } from '../engine/images/archive.js';
import { openEngine, type Engine } from '../engine/images/open-engine.js';
import { pushImage } from '../engine/images/push.js';
import { TarWriter } from '../engine/images/tar.js';
import { startTsdockerd, type RunningTsdockerd } from '../test/helpers/tsdockerd.js';
import { startDockerd, type PrivateDockerd } from '../test/helpers/dockerd.js';
import { hasProgram } from '../test/helpers/env.js';
import { run } from '../test/helpers/run.js';
import { RegistryProcess } from './lib/servers.js';
import { fmt, median, table } from './lib/stats.js';

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const runs = Number(args[args.indexOf('--runs') + 1] || 3) || 3;
const withDocker = !args.includes('--no-docker') && hasProgram('dockerd') && hasProgram('docker');
const withSkopeo = hasProgram('skopeo');

// ---- images from host files ------------------------------------------------------------------

/** Regular host files (sorted walk), skipping the unreadable and the very large. */
async function* hostFiles(roots: string[]): AsyncGenerator<{ path: string; size: number }> {
  for (const root of roots) {
    const walk = async function* (dir: string): AsyncGenerator<{ path: string; size: number }> {
      let entries;
      try {
        entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1));
      } catch {
        return;
      }
      for (const e of entries) {
        const path = join(dir, e.name);
        if (e.isDirectory()) yield* walk(path);
        else if (e.isFile() && Buffer.byteLength(path) < 99) {
          const size = (await stat(path).catch(() => undefined))?.size;
          if (size !== undefined && size < 16 * 1024 * 1024) yield { path, size };
        }
      }
    };
    yield* walk(root);
  }
}

interface Built {
  digest: string;
  diffId: string;
  size: number;
}

function hashing(hash: ReturnType<typeof createHash>, count?: { bytes: number }): Transform {
  return new Transform({
    transform(chunk: Buffer, _e, done) {
      hash.update(chunk);
      if (count) count.bytes += chunk.length;
      done(null, chunk);
    },
  });
}

/** A gzip layer of the next host files, stopping once about `target` compressed bytes are out. */
async function hostLayer(files: AsyncGenerator<{ path: string; size: number }>, target: number, blobDir: string): Promise<Built> {
  const tarHash = createHash('sha256');
  const gzHash = createHash('sha256');
  const gzCount = { bytes: 0 };
  const tarOut = new PassThrough({ highWaterMark: 1 << 20 });
  const temp = join(blobDir, `layer-${process.pid}-${Date.now()}`);
  const written = pipeline(tarOut, hashing(tarHash), createGzip(), hashing(gzHash, gzCount), createWriteStream(temp));
  const tar = new TarWriter(tarOut);
  for (;;) {
    const next = await files.next();
    if (next.done) break;
    const { path, size } = next.value;
    try {
      await tar.file(path.slice(1), size, createReadStream(path));
    } catch {
      throw new Error(`could not add ${path} to a layer (changed while read?)`);
    }
    if (gzCount.bytes >= target) break;
  }
  await tar.finish();
  tarOut.end();
  await written;
  const hex = gzHash.digest('hex');
  await rename(temp, join(blobDir, hex));
  return { digest: `sha256:${hex}`, diffId: `sha256:${tarHash.digest('hex')}`, size: gzCount.bytes };
}

interface BenchImage {
  name: string;
  layoutDir: string;
  tarball: string;
  /** Tag in the layout's index.json and docker's manifest.json. */
  tag: string;
  compressed: number;
  layers: number;
}

async function writeBlob(blobDir: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const hex = createHash('sha256').update(data).digest('hex');
  await writeFile(join(blobDir, hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

async function buildImage(work: string, name: string, layerTargets: number[], files: AsyncGenerator<{ path: string; size: number }>): Promise<BenchImage> {
  const layoutDir = join(work, name);
  const blobDir = join(layoutDir, 'blobs', 'sha256');
  await mkdir(blobDir, { recursive: true });
  const layers: Built[] = [];
  for (const target of layerTargets) layers.push(await hostLayer(files, target, blobDir));
  const config = await writeBlob(
    blobDir,
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        created: '2024-01-01T00:00:00Z',
        config: { Cmd: ['/bin/sh'] },
        rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
        history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `bench layer ${i}` })),
      }),
    ),
  );
  const manifest = await writeBlob(
    blobDir,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
      }),
    ),
  );
  const tag = 'v1';
  await writeFile(join(layoutDir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  await writeFile(
    join(layoutDir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'org.opencontainers.image.ref.name': tag } }],
    }),
  );
  const blobPath = (d: string) => `blobs/sha256/${d.slice('sha256:'.length)}`;
  await writeFile(
    join(layoutDir, 'manifest.json'),
    JSON.stringify([{ Config: blobPath(config.digest), RepoTags: [`bench/${name}:${tag}`], Layers: layers.map((l) => blobPath(l.digest)) }]),
  );
  const tarball = join(work, `${name}.tar`);
  await run('tar', ['-C', layoutDir, '-cf', tarball, '.']);
  return { name, layoutDir, tarball, tag, compressed: layers.reduce((n, l) => n + l.size, 0), layers: layers.length };
}

// ---- the pushers -----------------------------------------------------------------------------

type Tool = 'ours' | 'tsdocker' | 'skopeo' | 'docker';

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

async function pushWith(tool: Tool, image: BenchImage, target: string, engine: Engine, dockerd: PrivateDockerd | undefined, daemon: RunningTsdockerd | undefined): Promise<number> {
  const source = `bench/${image.name}:${image.tag}`;
  if (tool === 'tsdocker') {
    // The user's path: the CLI (a Node start-up included) asking a running tsdockerd.
    const cli = (args: string[]) => run(process.execPath, [join(projectRoot, 'bin', 'tsdocker.js'), '-H', `unix://${daemon!.socket}`, ...args]);
    await cli(['tag', source, target]);
    return timed(() => cli(['push', '-q', target]));
  }
  if (tool === 'ours') {
    await engine.images.tag(source, target);
    return timed(() => pushImage(engine, target));
  }
  if (tool === 'skopeo') {
    return timed(() => run('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${image.layoutDir}:${image.tag}`, `docker://${target}`]));
  }
  await dockerd!.docker(['tag', source, target]);
  return timed(() => dockerd!.docker(['push', '--quiet', target]));
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'tsd-bench-push-'));
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const began = Date.now();
    const files = hostFiles(['/usr/lib', '/usr/share']);
    const big = await buildImage(work, 'big', [17.8e6, 17.8e6, 17.8e6], files);
    const small = await buildImage(work, 'small', Array(25).fill(40e3), files);
    process.stdout.write(`built: big ${big.layers} layers ${(big.compressed / 1e6).toFixed(1)} MB, small ${small.layers} layers ${(small.compressed / 1e6).toFixed(2)} MB (${((Date.now() - began) / 1000).toFixed(1)} s)\n`);

    await writeFile(join(work, 'docker-config.json'), '{}');
    const engine = await openEngine({ dataRoot: join(work, 'engine'), storageDriver: 'vfs', unpackWorkers: 1, dockerConfig: { path: join(work, 'docker-config.json') } });
    cleanups.push(() => engine.close());
    for (const image of [big, small]) await load(engine.images, createReadStream(image.tarball));
    let dockerd: PrivateDockerd | undefined;
    if (withDocker) {
      dockerd = await startDockerd({ after: (fn) => void cleanups.push(async () => fn()) });
      for (const image of [big, small]) await dockerd.docker(['load', '-q', '-i', image.tarball]);
    }
    const daemon = await startTsdockerd({ after: (fn) => void cleanups.push(async () => fn()) }, { storageDriver: 'vfs' });
    for (const image of [big, small]) await run(process.execPath, [join(projectRoot, 'bin', 'tsdocker.js'), '-H', `unix://${daemon.socket}`, 'load', '-q', '-i', image.tarball]);
    const tools: Tool[] = ['ours', 'tsdocker', ...(withSkopeo ? (['skopeo'] as const) : []), ...(withDocker ? (['docker'] as const) : [])];

    const times = new Map<string, number[]>();
    for (const image of [big, small]) {
      for (let r = 0; r < runs; r++) {
        // Rotate who goes first, so a burst of load elsewhere does not always hit the same tool.
        const order = tools.map((_, i) => tools[(i + r) % tools.length]!);
        for (const tool of order) {
          const registry = await RegistryProcess.start({ kind: 'tsdocker', projectRoot, logDir: work, label: `reg-${image.name}-${tool}-${r}` });
          try {
            const target = `127.0.0.1:${registry.port}/bench/${image.name}:${image.tag}`;
            const seconds = await pushWith(tool, image, target, engine, dockerd, daemon);
            const check = await fetch(`${registry.url}/v2/bench/${image.name}/manifests/${image.tag}`, {
              method: 'HEAD',
              headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
            });
            if (check.status !== 200) throw new Error(`${tool}: the registry has no ${image.name}:${image.tag} after the push (${check.status})`);
            const key = `${image.name}/${tool}`;
            times.set(key, [...(times.get(key) ?? []), seconds]);
          } finally {
            await registry.stop();
          }
        }
      }
    }

    const rows = [big, small].map((image) => {
      const inProcess = median(times.get(`${image.name}/ours`) ?? []);
      const ours = median(times.get(`${image.name}/tsdocker`) ?? []);
      const skopeo = median(times.get(`${image.name}/skopeo`) ?? []);
      const docker = median(times.get(`${image.name}/docker`) ?? []);
      return [
        `${image.name} (${image.layers} layers, ${(image.compressed / 1e6).toFixed(1)} MB)`,
        fmt(inProcess),
        fmt(ours),
        fmt(skopeo),
        fmt(docker),
        fmt(skopeo / ours),
        fmt(docker / ours),
      ];
    });
    process.stdout.write(
      `\npush to a fresh local registry (ours), median of ${runs} runs, seconds\n\n${table(
        ['image', 'pushImage', 'tsdocker', 'skopeo', 'docker', 'skopeo/tsdocker', 'docker/tsdocker'],
        rows,
        [false, true, true, true, true, true, true],
      )}\n\nall runs: ${JSON.stringify(Object.fromEntries([...times].map(([k, v]) => [k, v.map((x) => Number(x.toFixed(3)))])))}\n`,
    );
    process.stdout.write(`total ${((Date.now() - began) / 1000).toFixed(1)} s\n`);
  } finally {
    await cleanup();
  }
}

await main();
