/**
 * Garbage collection on a store of N blobs (default 10,000): tsdocker-registry's collector and CNCF
 * distribution's `registry garbage-collect`, each on its own identical copy of one data directory,
 * in the same run. Reports wall time, peak RSS (GNU time) and what each deleted.
 *
 *   npm run build && node dist/bench/gc.js [--blobs 10000]
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const blobCount = Number(args[args.indexOf('--blobs') + 1] || 10_000) || 10_000;

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function put(root: string, path: string, data: Buffer | string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), data);
}

/** A distribution-layout store: 4 blobs per image (config + 3 layers), a quarter of the images deleted, and orphans. */
async function makeStore(root: string, blobs: number): Promise<{ referenced: number; orphaned: number }> {
  const v2 = 'docker/registry/v2';
  const images = Math.floor((blobs * 0.75) / 5);
  let written = 0;
  let referenced = 0;
  const writeBlob = async (repo: string, data: Buffer) => {
    const hex = sha(data);
    await put(root, `${v2}/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`, data);
    await put(root, `${v2}/repositories/${repo}/_layers/sha256/${hex}/link`, `sha256:${hex}`);
    written++;
    return hex;
  };
  for (let i = 0; i < images; i++) {
    const repo = `bench/repo${i % 20}`;
    const layers = await Promise.all([0, 1, 2].map(() => writeBlob(repo, randomBytes(512))));
    const config = await writeBlob(repo, Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', i })));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: `sha256:${config}`, size: 10 },
        layers: layers.map((l) => ({ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: `sha256:${l}`, size: 512 })),
      }),
    );
    const m = sha(manifest);
    await put(root, `${v2}/blobs/sha256/${m.slice(0, 2)}/${m}/data`, manifest);
    written++;
    const deleted = i % 4 === 0;
    if (!deleted) {
      await put(root, `${v2}/repositories/${repo}/_manifests/revisions/sha256/${m}/link`, `sha256:${m}`);
      await put(root, `${v2}/repositories/${repo}/_manifests/tags/t${i}/current/link`, `sha256:${m}`);
      await put(root, `${v2}/repositories/${repo}/_manifests/tags/t${i}/index/sha256/${m}/link`, `sha256:${m}`);
      referenced += 5;
    }
  }
  while (written < blobs) await writeBlob('bench/orphans', randomBytes(256));
  return { referenced, orphaned: written - referenced };
}

async function timed(command: string, argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ seconds: number; maxRssMb: number; stdout: string }> {
  const started = process.hrtime.bigint();
  const { stdout, stderr } = await run('/usr/bin/time', ['-f', 'MAXRSS %M', command, ...argv], { env, maxBuffer: 256 * 1024 * 1024 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rss = Number(/MAXRSS (\d+)/.exec(stderr)?.[1] ?? 0) / 1024;
  return { seconds, maxRssMb: rss, stdout };
}

async function main(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'tsdocker-gc-bench-'));
  try {
    process.stdout.write(`building a store of ${blobCount} blobs... `);
    const t0 = Date.now();
    const seed = join(work, 'seed');
    const shape = await makeStore(seed, blobCount);
    process.stdout.write(`${((Date.now() - t0) / 1000).toFixed(1)} s (${shape.referenced} referenced, ${shape.orphaned} unreferenced)\n`);
    const ours = join(work, 'ours');
    const theirs = join(work, 'theirs');
    await cp(seed, ours, { recursive: true });
    await cp(seed, theirs, { recursive: true });
    const config = (root: string) => `version: 0.1\nlog: {level: error}\nstorage:\n  filesystem: {rootdirectory: ${root}}\n  delete: {enabled: true}\nhttp: {addr: 127.0.0.1:0}\n`;
    await writeFile(join(work, 'ours.yml'), config(ours));
    await writeFile(join(work, 'theirs.yml'), config(theirs));

    const env = { ...process.env };
    delete env.AWS_CA_BUNDLE;
    const a = await timed(process.execPath, [...(process.env.GC_NODE_ARGS ? process.env.GC_NODE_ARGS.split(' ') : []), join(projectRoot, 'bin', 'tsdocker-registry.js'), 'garbage-collect', '--grace', '0s', join(work, 'ours.yml')]);
    const b = await timed('/usr/bin/docker-registry', ['garbage-collect', join(work, 'theirs.yml')], env);
    const oursDeleted = Number(/(\d+) of \d+ blobs deleted/.exec(a.stdout)?.[1] ?? NaN);
    const theirsDeleted = (b.stdout.match(/blob eligible for deletion/g) ?? []).length;
    const rows = [
      ['GC wall time (s)', a.seconds.toFixed(2), b.seconds.toFixed(2), (b.seconds / a.seconds).toFixed(2)],
      ['GC peak RSS (MB)', a.maxRssMb.toFixed(0), b.maxRssMb.toFixed(0), (b.maxRssMb / a.maxRssMb).toFixed(2)],
      ['blobs deleted', String(oursDeleted), String(theirsDeleted), ''],
    ];
    console.log(`\n${'row'.padEnd(20)}${'ours'.padStart(10)}${'distribution'.padStart(14)}${'ratio'.padStart(8)}`);
    for (const r of rows) console.log(`${r[0]!.padEnd(20)}${r[1]!.padStart(10)}${r[2]!.padStart(14)}${r[3]!.padStart(8)}`);
    console.log('ratio = distribution / ours (>1: ours is faster or smaller). Ours runs online-safe (trash + second mark); distribution requires the registry to be stopped.');
    console.log(`ours: ${a.stdout.trim().split('\n').pop()}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

await main();
