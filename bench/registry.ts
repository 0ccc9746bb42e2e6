/**
 * Registry benchmark: our registry (bin/tsdocker-registry.js) against CNCF distribution
 * (/usr/bin/docker-registry), both started here on loopback with filesystem storage in their own
 * temp dirs (or, with --storage s3, each in its own bucket of one throwaway radosgw), measured in
 * the same run. See bench/README.md.
 *
 *   npm run bench                         # all rows
 *   npm run bench -- --quick              # shorter, fewer repetitions
 *   npm run bench -- --rows 1,5-7         # some rows
 *   npm run bench -- --storage s3         # S3 mode (radosgw), rows 1-6
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, expectStatus, sha256Digest } from './lib/http.js';
import { rawGet } from './lib/rawget.js';
import {
  hasBlob,
  probePushMode,
  pushChunked,
  pushManifest,
  pushPostPut,
  pushWithMode,
  type PushMode,
} from './lib/oci.js';
import {
  distributionVersion,
  liveServers,
  machineBusySeconds,
  RegistryProcess,
  selfCpuSeconds,
  type ServerKind,
} from './lib/servers.js';
import { bucketUsage, createBucket, radosgwVersion, s3CpuSeconds, seedEmptyBlob, startS3, stopS3, stopS3Sync, type BenchS3 } from './lib/s3.js';
import { fmt, median, table } from './lib/stats.js';
import { killWrk, runWrk, type WrkResult } from './lib/wrk.js';

const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
const MiB = 1024 * 1024;
const MB = 1e6;

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  rows: Set<number>;
  quick: boolean;
  wrkDuration: number;
  wrkSlice: number;
  wrkWarmup: number;
  reps?: number;
  concurrency: number;
  oursKind: ServerKind;
  theirsKind: ServerKind;
  nodeArgs: string[];
  distCache: boolean;
  keep: boolean;
  out: string;
  manifestType: 'oci' | 'docker';
  storage: 'fs' | 's3';
}

const usage = `usage: node dist/bench/registry.js [options]   (or: npm run bench -- [options])
  --rows LIST          rows to run, e.g. 1,2,5-7 (default: all, 1-7)
  --quick              short run: fewer blobs and repetitions, 3 s wrk rows
  --duration SEC       wrk time per server per row (default 10, quick 3), run as slices that
                       alternate between the servers
  --slice SEC          length of one wrk slice (default 1; whole seconds)
  --reps N             repetitions for rows 2-4 (default 5, s3 3, quick 2)
  --concurrency N      concurrent clients for row 1 (default 4)
  --manifest oci|docker  manifest type for rows 6-7 (default oci, same for both servers)
  --ours KIND          what runs as "ours": tsdocker (default) or distribution (to try the bench)
  --theirs KIND        what runs as the peer: distribution (default) or tsdocker
  --node-args "ARGS"   extra node arguments for our server (e.g. "--cpu-prof --cpu-prof-dir=.bench-out/prof")
  --dist-cache         give distribution storage.cache.blobdescriptor: inmemory (off by default)
  --keep               keep the servers' temp dirs
  --storage fs|s3      fs (default): filesystem storage in temp dirs. s3: one throwaway radosgw
                       (scripts/s3-server.sh), one bucket per server, redirects disabled; rows 1-6
  --out FILE           JSON results (default .bench-out/registry.json, s3: .bench-out/registry-s3.json)`;

function parseRows(spec: string): Set<number> {
  const rows = new Set<number>();
  for (const part of spec.split(',').filter(Boolean)) {
    const m = part.match(/^(\d+)(?:-(\d+))?$/);
    if (!m) throw new Error(`bad --rows element "${part}"`);
    const a = Number(m[1]);
    const b = m[2] ? Number(m[2]) : a;
    for (let i = a; i <= b; i++) {
      if (i < 1 || i > 7) throw new Error(`no row ${i} (rows are 1-7)`);
      rows.add(i);
    }
  }
  return rows;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    rows: new Set([1, 2, 3, 4, 5, 6, 7]),
    quick: false,
    wrkDuration: 10,
    wrkSlice: 1,
    wrkWarmup: 2,
    concurrency: 4,
    oursKind: 'tsdocker',
    theirsKind: 'distribution',
    nodeArgs: [],
    distCache: false,
    keep: false,
    out: '',
    manifestType: 'oci',
    storage: 'fs',
  };
  let durationSet = false;
  let rowsSet = false;
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let value: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const next = (): string => {
      if (value !== undefined) return value;
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    const kind = (v: string): ServerKind => {
      if (v !== 'tsdocker' && v !== 'distribution') throw new Error(`${arg}: tsdocker or distribution`);
      return v;
    };
    switch (arg) {
      case '--rows':
        o.rows = parseRows(next());
        rowsSet = true;
        break;
      case '--storage': {
        const v = next();
        if (v !== 'fs' && v !== 's3') throw new Error('--storage: fs or s3');
        o.storage = v;
        break;
      }
      case '--quick':
        o.quick = true;
        break;
      case '--duration':
        o.wrkDuration = Number(next());
        durationSet = true;
        break;
      case '--slice':
        o.wrkSlice = Math.round(Number(next()));
        break;
      case '--reps':
        o.reps = Number(next());
        break;
      case '--concurrency':
        o.concurrency = Number(next());
        break;
      case '--manifest': {
        const v = next();
        if (v !== 'oci' && v !== 'docker') throw new Error('--manifest: oci or docker');
        o.manifestType = v;
        break;
      }
      case '--ours':
        o.oursKind = kind(next());
        break;
      case '--theirs':
        o.theirsKind = kind(next());
        break;
      case '--node-args':
        o.nodeArgs = next().split(/\s+/).filter(Boolean);
        break;
      case '--dist-cache':
        o.distCache = true;
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--out':
        o.out = resolve(next());
        break;
      case '--help':
      case '-h':
        console.log(usage);
        process.exit(0);
      default:
        throw new Error(`unknown option ${arg}\n${usage}`);
    }
  }
  // S3 mode: the tags list row is left out unless asked for (the issue's S3 rows are 1-6).
  if (o.storage === 's3' && !rowsSet) o.rows.delete(7);
  if (!o.out) o.out = join(projectRoot, '.bench-out', o.storage === 's3' ? 'registry-s3.json' : 'registry.json');
  if (o.quick) {
    if (!durationSet) o.wrkDuration = 3;
    o.wrkSlice = 1;
    o.wrkWarmup = 1;
  }
  if (!(o.wrkSlice >= 1) || !(o.wrkDuration > 0) || !(o.concurrency >= 1) || (o.reps !== undefined && !(o.reps >= 1))) {
    throw new Error('--duration, --concurrency and --reps must be positive');
  }
  return o;
}

// ---------------------------------------------------------------------------------------------
// Sides and measurements

interface Side {
  label: 'ours' | 'distribution';
  kind: ServerKind;
  proc?: RegistryProcess;
  client?: Client;
  startError?: string;
  pushMode?: PushMode;
  fixture?: Promise<Fixture>;
  /** S3 mode: this side's bucket. */
  bucket?: string;
  /** Set when the fixture needed a workaround (shown under the HEAD row). */
  fixtureNote?: string;
}

interface Sample {
  value: number;
  /** CPU seconds of the server during the sample and the wall time it took. */
  cpu: number;
  /** CPU seconds the rest of the machine used meanwhile (not the server, the bench, wrk or radosgw). */
  other: number;
  /** CPU seconds of the S3 cluster's daemons (radosgw, osd, mon) meanwhile; 0 with filesystem storage. */
  storage: number;
  wall: number;
  note?: string;
}

interface Measurement {
  value?: number;
  samples: number[];
  cores?: number;
  /** Cores busy with other work on the machine while this side was measured (noise indicator). */
  otherCores?: number;
  /** S3 mode: cores used by radosgw + osd + mon while this side was measured. */
  storageCores?: number;
  notes: string[];
  error?: string;
}

interface RowResult {
  id: number;
  name: string;
  unit: string;
  ours: Measurement;
  distribution: Measurement;
  /** ours/theirs; every row is higher-is-better, so >1 means ours is better. */
  ratio?: number;
}

interface RowDef {
  id: number;
  name: string;
  unit: string;
  reps: number;
  /** Setup and warm-up for one side; may add notes. */
  prepare(side: Side, m: Measurement): Promise<void>;
  /** Called once per repetition before the sides measure (e.g. to make a fresh blob both will push). */
  beforeRep?(rep: number): Promise<void> | void;
  measure(side: Side, rep: number): Promise<Sample>;
}

/** The S3 cluster in S3 mode (its daemons' CPU is reported apart from "other load"). */
let s3: BenchS3 | undefined;

async function timed(side: Side, fn: () => Promise<{ value: (wallSec: number) => number; note?: string }>): Promise<Sample> {
  const cpu0 = side.proc!.cpuSeconds();
  const busy0 = machineBusySeconds();
  const self0 = selfCpuSeconds();
  const st0 = s3CpuSeconds(s3);
  const t0 = process.hrtime.bigint();
  const r = await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = side.proc!.cpuSeconds() - cpu0;
  const storage = s3CpuSeconds(s3) - st0;
  const other = Math.max(0, machineBusySeconds() - busy0 - cpu - storage - (selfCpuSeconds() - self0));
  return { value: r.value(wall), cpu, other, storage, wall, note: r.note };
}

// ---------------------------------------------------------------------------------------------
// Data

/** A buffer whose first bytes are rewritten per use so that every push is a distinct blob. */
class VaryingBlob {
  readonly data: Buffer;
  digest = '';
  constructor(size: number) {
    this.data = randomBytes(size);
  }
  vary(tag: string): void {
    const stamp = Buffer.from(`${tag}:${randomBytes(8).toString('hex')}:`.padEnd(64, '.'));
    stamp.copy(this.data, 0);
    this.digest = sha256Digest(this.data);
  }
}

let blob100: VaryingBlob | undefined;
function big100(): VaryingBlob {
  return (blob100 ??= new VaryingBlob(100 * MiB));
}

interface Fixture {
  repo: string;
  layerDigest: string;
  layerSize: number;
  emptyDigest: string;
  manifestDigest: string;
  manifestMediaType: string;
  accept: string;
  tags: number;
}

const fixtureRepo = 'bench/fixture';
const tagCount = 100;

/** The same small image on both sides: a config, one layer, one manifest, 100 tags plus "latest". */
function fixtureData(manifestType: 'oci' | 'docker') {
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'] },
      rootfs: { type: 'layers', diff_ids: ['sha256:' + 'a'.repeat(64)] },
    }),
  );
  const layer = Buffer.alloc(32 * 1024, 7); // deterministic: identical on both sides
  const oci = manifestType === 'oci';
  const manifestMediaType = oci
    ? 'application/vnd.oci.image.manifest.v1+json'
    : 'application/vnd.docker.distribution.manifest.v2+json';
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: manifestMediaType,
      config: {
        mediaType: oci ? 'application/vnd.oci.image.config.v1+json' : 'application/vnd.docker.container.image.v1+json',
        digest: sha256Digest(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: oci ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.docker.image.rootfs.diff.tar.gzip',
          digest: sha256Digest(layer),
          size: layer.length,
        },
      ],
    }),
  );
  return { config, layer, manifest, manifestMediaType };
}

async function buildFixture(side: Side, manifestType: 'oci' | 'docker'): Promise<Fixture> {
  const c = side.client!;
  const { config, layer, manifest, manifestMediaType } = fixtureData(manifestType);
  const layerDigest = sha256Digest(layer);
  // wrk 4.1 waits for a body after a HEAD answer that carries a non-zero Content-Length (its
  // parser is not told the request was HEAD), so the HEAD row asks for the empty blob.
  const empty = Buffer.alloc(0);
  for (const b of [config, layer, empty]) {
    const d = sha256Digest(b);
    if (await hasBlob(c, fixtureRepo, d)) continue;
    try {
      await pushPostPut(c, fixtureRepo, b, d);
    } catch (err) {
      // distribution 2.8 on S3 cannot store a 0-byte blob (it completes a multipart upload with no
      // parts, which RGW and AWS refuse): write it into its bucket in its own layout instead.
      if (b.length !== 0 || !s3 || !side.bucket || side.kind !== 'distribution') throw err;
      await seedEmptyBlob(s3, side.bucket, s3RootDirectory, fixtureRepo, d);
      side.fixtureNote = 'empty blob written into its bucket directly (its push of a 0-byte blob fails on RGW: MalformedXML)';
    }
  }
  await pushManifest(c, fixtureRepo, 'latest', manifest, manifestMediaType);
  for (let i = 0; i < tagCount; i += 10) {
    await Promise.all(
      Array.from({ length: Math.min(10, tagCount - i) }, (_, k) =>
        pushManifest(c, fixtureRepo, `t${String(i + k).padStart(3, '0')}`, manifest, manifestMediaType),
      ),
    );
  }
  return {
    repo: fixtureRepo,
    layerDigest,
    layerSize: layer.length,
    emptyDigest: sha256Digest(empty),
    manifestDigest: sha256Digest(manifest),
    manifestMediaType,
    // Only the pushed type: distribution 2.8 rewrites Docker schema 2 to schema 1 (or 404s OCI)
    // when the Accept header does not name the manifest's type.
    accept: manifestMediaType,
    tags: tagCount + 1,
  };
}

function fixture(side: Side, o: Options): Promise<Fixture> {
  return (side.fixture ??= buildFixture(side, o.manifestType));
}

// ---------------------------------------------------------------------------------------------
// Rows

function rowDefinitions(o: Options, outDir: string): RowDef[] {
  // S3 mode: 3 repetitions (a chunked push is slow on RGW) to keep the run near 3.5 minutes.
  const reps = o.reps ?? (o.quick ? 2 : o.storage === 's3' ? 3 : 5);

  // Row 1 ---------------------------------------------------------------------------------
  const smallPerRep = o.quick ? 48 : 128;
  const smallMaxSec = o.quick ? 5 : o.storage === 's3' ? 8 : 15;
  let smallBlobs: { data: Buffer; digest: string }[] = [];
  const makeSmall = (n: number) =>
    Array.from({ length: n }, () => {
      const data = randomBytes(MiB);
      return { data, digest: sha256Digest(data) };
    });
  const pushMany = async (side: Side, blobs: { data: Buffer; digest: string }[], deadline: number) => {
    let next = 0;
    let done = 0;
    const worker = async () => {
      for (;;) {
        const i = next++;
        if (i >= blobs.length || Date.now() > deadline) return;
        await pushWithMode(side.pushMode!, side.client!, 'bench/push1m', blobs[i]!.data, blobs[i]!.digest);
        done++;
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, worker));
    return done;
  };

  const row1: RowDef = {
    id: 1,
    name: `push 1 MiB monolithic, ${o.concurrency} clients`,
    unit: 'pushes/s',
    reps: o.quick ? 1 : 3,
    async prepare(side, m) {
      const warm = makeSmall(Math.max(8, 2 * o.concurrency));
      side.pushMode = await probePushMode(side.client!, 'bench/push1m', warm[0]!.data, warm[0]!.digest);
      await pushMany(side, warm.slice(1), Date.now() + 30_000);
      m.notes.push(side.pushMode === 'post-monolithic' ? 'single POST ?digest=' : 'POST then PUT (202 to POST with body)');
    },
    beforeRep() {
      smallBlobs = makeSmall(smallPerRep);
    },
    measure: (side) =>
      timed(side, async () => {
        const done = await pushMany(side, smallBlobs, Date.now() + smallMaxSec * 1000);
        return { value: (wall) => done / wall, note: done < smallBlobs.length ? `time-bounded: ${done} pushes` : undefined };
      }),
  };

  // Rows 2 and 3 ----------------------------------------------------------------------------
  const row2: RowDef = {
    id: 2,
    name: 'push 100 MiB monolithic (POST+PUT)',
    unit: 'MB/s',
    reps,
    async prepare(side) {
      const warm = randomBytes(16 * MiB);
      await pushPostPut(side.client!, 'bench/push100m', warm, sha256Digest(warm));
    },
    beforeRep(rep) {
      big100().vary(`row2-${rep}`);
    },
    measure: (side) =>
      timed(side, async () => {
        const b = big100();
        await pushPostPut(side.client!, 'bench/push100m', b.data, b.digest);
        return { value: (wall) => b.data.length / MB / wall };
      }),
  };

  const chunk = 8 * MiB;
  const row3: RowDef = {
    id: 3,
    name: 'push 100 MiB chunked (PATCH 8 MiB)',
    unit: 'MB/s',
    reps,
    async prepare(side) {
      const warm = randomBytes(24 * MiB);
      await pushChunked(side.client!, 'bench/chunked', warm, sha256Digest(warm), chunk);
    },
    beforeRep(rep) {
      big100().vary(`row3-${rep}`);
    },
    measure: (side) =>
      timed(side, async () => {
        const b = big100();
        await pushChunked(side.client!, 'bench/chunked', b.data, b.digest, chunk);
        return { value: (wall) => b.data.length / MB / wall };
      }),
  };

  // Row 4 -----------------------------------------------------------------------------------
  let large: { data: Buffer; digest: string } | undefined;
  const largeRepo = 'bench/large';
  const row4: RowDef = {
    id: 4,
    name: o.storage === 's3' ? 'GET 256 MiB blob (via registry, no redirect)' : 'GET 256 MiB blob',
    unit: 'MB/s',
    reps,
    async prepare(side) {
      if (!large) {
        const data = randomBytes(256 * MiB);
        large = { data, digest: sha256Digest(data) };
      }
      if (!(await hasBlob(side.client!, largeRepo, large.digest))) {
        await pushPostPut(side.client!, largeRepo, large.data, large.digest);
      }
      // Warm-up GET (page cache, code paths), checked byte for byte once.
      const res = await side.client!.request('GET', `/v2/${largeRepo}/blobs/${large.digest}`);
      expectStatus(res, 200, 'GET large blob');
      if (sha256Digest(res.body) !== large.digest) throw new Error('GET large blob: wrong bytes');
    },
    measure: (side) =>
      timed(side, async () => {
        const res = await rawGet(side.proc!.url, `/v2/${largeRepo}/blobs/${large!.digest}`);
        if (res.status !== 200) throw new Error(`GET large blob: HTTP ${res.status}`);
        if (!res.chunked && res.bytes !== large!.data.length) throw new Error(`GET large blob: ${res.bytes} bytes`);
        return {
          value: (wall) => large!.data.length / MB / wall,
          note: res.chunked ? 'answered with chunked framing' : undefined,
        };
      }),
  };

  // Rows 5-7: wrk ---------------------------------------------------------------------------
  const wrkRow = (
    id: number,
    name: string,
    target: (f: Fixture) => { path: string; method: 'GET' | 'HEAD'; headers: Record<string, string> },
    check: (side: Side, f: Fixture, m: Measurement) => Promise<void>,
  ): RowDef => ({
    id,
    name: `${name}, wrk -t2 -c32`,
    unit: 'req/s',
    reps: Math.max(1, Math.round(o.wrkDuration / o.wrkSlice)),
    async prepare(side, m) {
      const f = await fixture(side, o);
      if (side.fixtureNote && id === 5) m.notes.push(side.fixtureNote);
      await check(side, f, m);
      const t = target(f);
      await runWrk({
        url: side.proc!.url + t.path,
        method: t.method,
        headers: t.headers,
        threads: 2,
        connections: 32,
        durationSec: o.wrkWarmup,
        scriptDir: outDir,
      });
    },
    measure: async (side) => {
      const f = await fixture(side, o);
      const t = target(f);
      let w: WrkResult | undefined;
      const s = await timed(side, async () => {
        w = await runWrk({
          url: side.proc!.url + t.path,
          method: t.method,
          headers: t.headers,
          threads: 2,
          connections: 32,
          durationSec: o.wrkSlice,
          scriptDir: outDir,
        });
        return { value: () => w!.requestsPerSec };
      });
      const bad = w!.non2xx + w!.socketErrors;
      if (w!.requests === 0 || bad > w!.requests * 0.01) {
        throw new Error(`wrk: ${w!.non2xx} non-2xx and ${w!.socketErrors} socket errors in ${w!.requests} requests`);
      }
      if (bad) s.note = 'wrk saw some non-2xx answers or socket errors (under 1%)';
      return s;
    },
  });

  const row5 = wrkRow(
    5,
    'blob HEAD (empty blob)',
    (f) => ({ path: `/v2/${f.repo}/blobs/${f.emptyDigest}`, method: 'HEAD', headers: {} }),
    async (side, f) => {
      for (const [digest, size] of [
        [f.layerDigest, f.layerSize],
        [f.emptyDigest, 0],
      ] as const) {
        const res = await side.client!.request('HEAD', `/v2/${f.repo}/blobs/${digest}`);
        expectStatus(res, 200, `HEAD blob ${digest}`);
        if (Number(res.headers['content-length']) !== size) {
          throw new Error(`HEAD blob: Content-Length ${res.headers['content-length']}, want ${size}`);
        }
      }
    },
  );
  const row6 = wrkRow(
    6,
    `manifest GET by tag (${o.manifestType === 'oci' ? 'OCI' : 'Docker v2'})`,
    (f) => ({ path: `/v2/${f.repo}/manifests/latest`, method: 'GET', headers: { Accept: f.accept } }),
    async (side, f) => {
      const res = await side.client!.request('GET', `/v2/${f.repo}/manifests/latest`, { headers: { Accept: f.accept } });
      expectStatus(res, 200, 'GET manifest');
      if (sha256Digest(res.body) !== f.manifestDigest) throw new Error('GET manifest: bytes differ from what was pushed');
      const ct = String(res.headers['content-type'] ?? '');
      if (!ct.startsWith(f.manifestMediaType)) throw new Error(`GET manifest: Content-Type ${ct}`);
    },
  );
  const row7 = wrkRow(
    7,
    `tags list (${tagCount + 1} tags)`,
    (f) => ({ path: `/v2/${f.repo}/tags/list`, method: 'GET', headers: {} }),
    async (side, f, m) => {
      const res = await side.client!.request('GET', `/v2/${f.repo}/tags/list`);
      expectStatus(res, 200, 'GET tags list');
      const tags = (JSON.parse(res.body.toString('utf8')) as { tags?: unknown[] }).tags ?? [];
      if (tags.length !== f.tags) m.notes.push(`answered ${tags.length} tags, not ${f.tags}`);
      if (res.headers['link']) m.notes.push('paginated (Link header)');
    },
  );

  return [row1, row2, row3, row4, row5, row6, row7].filter((r) => o.rows.has(r.id));
}

// ---------------------------------------------------------------------------------------------
// Running

async function runRow(def: RowDef, sides: Side[], rowIndex: number): Promise<RowResult> {
  const result: RowResult = {
    id: def.id,
    name: def.name,
    unit: def.unit,
    ours: { samples: [], notes: [] },
    distribution: { samples: [], notes: [] },
  };
  const m = (s: Side) => result[s.label];
  const cpu = new Map<Side, { cpu: number; other: number; storage: number; wall: number }>();
  const usable = (s: Side) => s.proc !== undefined && m(s).error === undefined;
  for (const s of sides) {
    if (!s.proc) {
      m(s).error = s.startError ?? 'not started';
      continue;
    }
    try {
      await def.prepare(s, m(s));
    } catch (err) {
      m(s).error = (err as Error).message;
    }
  }
  for (let rep = 0; rep < def.reps; rep++) {
    if (!sides.some(usable)) break;
    await def.beforeRep?.(rep);
    // Alternate which side goes first, per repetition and per row, so drift on a shared machine
    // does not always favour the same side.
    const order = (rep + rowIndex) % 2 === 0 ? sides : [...sides].reverse();
    for (const s of order) {
      if (!usable(s)) continue;
      try {
        const sample = await def.measure(s, rep);
        m(s).samples.push(sample.value);
        if (sample.note && !m(s).notes.includes(sample.note)) m(s).notes.push(sample.note);
        const c = cpu.get(s) ?? { cpu: 0, other: 0, storage: 0, wall: 0 };
        cpu.set(s, { cpu: c.cpu + sample.cpu, other: c.other + sample.other, storage: c.storage + sample.storage, wall: c.wall + sample.wall });
      } catch (err) {
        m(s).error = (err as Error).message;
      }
    }
  }
  for (const s of sides) {
    const mm = m(s);
    if (mm.samples.length) mm.value = median(mm.samples);
    const c = cpu.get(s);
    if (c && c.wall > 0) {
      mm.cores = c.cpu / c.wall;
      mm.otherCores = c.other / c.wall;
      if (s3) mm.storageCores = c.storage / c.wall;
    }
  }
  if (result.ours.value !== undefined && result.distribution.value && !result.ours.error && !result.distribution.error) {
    result.ratio = result.ours.value / result.distribution.value;
  }
  return result;
}

function printTable(results: RowResult[], sides: Side[]): void {
  const head = ['row', 'ours', 'distribution', 'ratio', 'unit', 'cores ours', 'cores dist', 'other load'];
  if (s3) head.push('cores rgw');
  const rows = results.map((r) => {
    const cells = [
      `${r.id} ${r.name}`,
      r.ours.error ? 'ERR' : fmt(r.ours.value),
      r.distribution.error ? 'ERR' : fmt(r.distribution.value),
      r.ratio === undefined ? '-' : r.ratio.toFixed(2) + 'x',
      r.unit,
      fmt(r.ours.cores),
      fmt(r.distribution.cores),
      `${fmt(r.ours.otherCores)}/${fmt(r.distribution.otherCores)}`,
    ];
    if (s3) cells.push(`${fmt(r.ours.storageCores)}/${fmt(r.distribution.storageCores)}`);
    return cells;
  });
  console.log('');
  console.log(table(head, rows, [false, true, true, true, false, true, true, true, true]));
  console.log('ratio = ours / distribution; every row is higher-is-better, so >1 means ours is better.');
  console.log('MB = 10^6 bytes. Values are medians over repetitions. cores = server CPU time / wall time while measured;');
  console.log('other load = cores used meanwhile by other processes on the machine (ours/dist runs): high means a noisy figure.');
  if (s3) {
    console.log('cores rgw = cores used by the S3 cluster (radosgw + osd + mon) during our/their runs; not in "other load".');
    console.log(`storage: radosgw on ${s3.endpoint} (pids ${s3.pids.join(' ')}), one bucket per server, redirects disabled`);
  }
  const labels = sides.map((s) => `${s.label}=${s.kind}${s.proc ? ` pid ${s.proc.pid}` : ''}`).join(', ');
  console.log(`sides: ${labels}`);
  for (const r of results) {
    for (const label of ['ours', 'distribution'] as const) {
      const mm = r[label];
      const bits = [...mm.notes];
      if (mm.samples.length > 1) bits.push(`samples ${mm.samples.map((x) => fmt(x)).join(' ')}`);
      if (mm.error) bits.push(`ERROR: ${mm.error.split('\n')[0]}`);
      if (bits.length) console.log(`  row ${r.id} ${label}: ${bits.join('; ')}`);
    }
  }
}

async function stopAll(keep: boolean): Promise<void> {
  // Registries first (they talk to the S3 cluster), then the cluster.
  await Promise.all(liveServers().map((p) => p.stop({ keep })));
  await stopS3();
}

const s3RootDirectory = '/registry';

/** The storage section for one side in S3 mode: the same bucket settings in each server's dialect. */
function s3Storage(kind: ServerKind, cluster: BenchS3, bucket: string): Record<string, unknown> {
  const common = {
    bucket,
    region: 'us-east-1',
    regionendpoint: `http://127.0.0.1:${cluster.port}`,
    accesskey: cluster.accessKey,
    secretkey: cluster.secretKey,
    secure: false,
    rootdirectory: s3RootDirectory,
  };
  return {
    s3: kind === 'tsdocker' ? { ...common, forcepathstyle: true } : { ...common, v4auth: true },
    redirect: { disable: true },
  };
}

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  const outDir = join(projectRoot, '.bench-out');
  await mkdir(outDir, { recursive: true });

  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${sig}: stopping the servers`);
    killWrk();
    void stopAll(o.keep).finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => {
    killWrk();
    for (const p of liveServers()) p.killNow();
    stopS3Sync();
  });

  const sides: Side[] = [
    { label: 'ours', kind: o.oursKind },
    { label: 'distribution', kind: o.theirsKind },
  ];
  const started = Date.now();
  const buckets: Record<string, string> = {};
  try {
    if (o.storage === 's3') {
      s3 = await startS3(projectRoot, join(outDir, 'radosgw.log'));
      if (interrupted) return 130;
      console.error(`s3: radosgw on ${s3.endpoint} (daemon pids ${s3.pids.join(' ')}), up in ${s3.startMs} ms`);
      for (const s of sides) {
        buckets[s.label] = s.bucket = `bench-${s.label}`;
        await createBucket(s3, buckets[s.label]!);
      }
    }
    await Promise.all(
      sides.map(async (s) => {
        try {
          s.proc = await RegistryProcess.start({
            kind: s.kind,
            projectRoot,
            logDir: outDir,
            label: s.label,
            logName: o.storage === 's3' ? `${s.label}-s3.log` : undefined,
            nodeArgs: s.kind === 'tsdocker' ? o.nodeArgs : [],
            distributionCache: o.distCache,
            storage: s3 ? s3Storage(s.kind, s3, buckets[s.label]!) : undefined,
          });
          s.client = new Client(s.proc.url, 64);
        } catch (err) {
          s.startError = (err as Error).message;
          console.error(`! ${s.label}: ${s.startError}`);
        }
      }),
    );
    for (const s of sides) {
      if (s.proc) console.error(`${s.label}: ${s.kind} pid ${s.proc.pid} on ${s.proc.url} (log ${s.proc.logPath})`);
    }
    const defs = rowDefinitions(o, outDir);
    const results: RowResult[] = [];
    for (const [i, def] of defs.entries()) {
      const t0 = Date.now();
      process.stderr.write(`row ${def.id} ${def.name} ... `);
      const r = await runRow(def, sides, i);
      results.push(r);
      const show = (mm: Measurement) => (mm.error ? 'ERR' : fmt(mm.value));
      process.stderr.write(
        `ours ${show(r.ours)}, distribution ${show(r.distribution)} ${def.unit} (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`,
      );
      for (const s of sides) {
        if (s.proc && !s.proc.running) {
          s.startError = `${s.label} server exited (${s.proc.child.exitCode ?? s.proc.child.signalCode}); see ${s.proc.logPath}`;
          s.proc = undefined;
        }
      }
    }
    printTable(results, sides);
    const totalSec = (Date.now() - started) / 1000;
    console.log(`total ${totalSec.toFixed(0)} s`);
    const json = {
      date: new Date().toISOString(),
      command: process.argv.slice(2),
      machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version },
      distribution: distributionVersion(),
      sides: sides.map((s) => ({ label: s.label, kind: s.kind, startError: s.startError })),
      storage: s3
        ? {
            kind: 's3',
            radosgw: radosgwVersion(),
            endpoint: s3.endpoint,
            startMs: s3.startMs,
            buckets: Object.fromEntries(
              await Promise.all(
                sides.map(async (s) => [s.label, { bucket: buckets[s.label], ...(await bucketUsage(s3!, buckets[s.label]!).catch(() => ({}))) }] as const),
              ),
            ),
          }
        : { kind: 'filesystem' },
      options: { ...o, rows: [...o.rows] },
      ratioMeaning: 'ours / distribution; every row is higher-is-better, >1 means ours is better',
      totalSeconds: totalSec,
      rows: results,
    };
    await mkdir(join(o.out, '..'), { recursive: true });
    await writeFile(o.out, JSON.stringify(json, null, 2) + '\n');
    console.log(`results: ${o.out}`);
    const failed = sides.some((s) => s.startError) || results.some((r) => r.ours.error || r.distribution.error);
    return failed ? 1 : 0;
  } finally {
    for (const s of sides) s.client?.close();
    s3?.client.destroy();
    await stopAll(o.keep);
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  async (err) => {
    console.error(`bench: ${(err as Error).stack ?? err}`);
    await stopAll(false);
    process.exitCode = 1;
  },
);
