// A throwaway real S3 server for tests: a single-node Ceph cluster (mon + memstore osd + radosgw)
// on loopback, started and stopped by scripts/s3-server.sh.
//
// Note on AWS_CA_BUNDLE (set on these machines): the JS SDK v3 (@aws-sdk/client-s3 3.1163.0 and its
// @smithy/node-http-handler) never reads it, unlike Go's SDK (which panics on it, see
// distribution.ts) and the JS SDK v2. The server is plain http anyway, so nothing needs doing here;
// s3-server.test.ts checks that a client still works with the variable pointing nowhere.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';
import { freePort, need } from './env.js';
import { run } from './run.js';

const projectRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const s3ServerScript = join(projectRoot, 'scripts', 's3-server.sh');

export interface S3Server {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** Always us-east-1: RGW refuses CreateBucket with another location constraint. */
  region: string;
  /** The cluster's directory (config, logs, pid files); removed by stop(). */
  dir: string;
  /** PIDs of the mon, osd and radosgw daemons, as they wrote them at start. */
  pids: number[];
  /** How long `s3-server.sh start` took, ms. */
  startMs: number;
  /** A client configured for this server (see s3ClientFor). */
  client: S3Client;
  createBucket(name: string): Promise<void>;
  /** Stops the daemons and removes the directory; idempotent. Also registered with t.after. */
  stop(): Promise<void>;
}

/** What startS3Server uses of a test: a TestContext, or a stand-in for a file-level before() hook. */
export interface S3Hooks {
  after(fn: () => unknown): void;
  skip(message?: string): void;
}

/** An S3Client with the settings RGW needs. */
export function s3ClientFor(server: Pick<S3Server, 'endpoint' | 'region' | 'accessKey' | 'secretKey'>): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    region: server.region,
    forcePathStyle: true,
    credentials: { accessKeyId: server.accessKey, secretAccessKey: server.secretKey },
    // Otherwise stream bodies go out aws-chunked with checksum trailers, which RGW answers with 411.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** The `S3_*=` lines scripts/s3-server.sh prints. */
export function parseOutput(stdout: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of stdout.split('\n')) {
    const m = /^(S3_[A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) vars[m[1]!] = m[2]!;
  }
  return vars;
}

/** PIDs the cluster's daemons wrote under DIR/run. */
export async function readPids(dir: string): Promise<number[]> {
  const runDir = join(dir, 'run');
  const pids: number[] = [];
  for (const name of await readdir(runDir)) {
    if (!name.endsWith('.pid')) continue;
    const pid = Number.parseInt((await readFile(join(runDir, name), 'utf8')).trim(), 10);
    if (Number.isInteger(pid) && pid > 0) pids.push(pid);
  }
  return pids;
}

/**
 * Starts a fresh radosgw-backed S3 server for this test and stops it when the test ends, pass or
 * fail. Returns undefined when the test was skipped (ceph not installed or not root, outside CI);
 * in CI that fails the test instead.
 */
export async function startS3Server(t: S3Hooks): Promise<S3Server | undefined> {
  if (!need(t as TestContext, { programs: ['radosgw', 'ceph-mon', 'ceph-osd', 'ceph', 'radosgw-admin', 'monmaptool', 'curl'], root: true })) {
    return undefined;
  }
  // The script wants a directory that does not exist or is empty; mkdtemp gives a unique empty one.
  const dir = await mkdtemp(join(tmpdir(), 'tsdocker-s3-'));
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= run('bash', [s3ServerScript, 'stop', dir], { timeoutMs: 60_000 }).then(
      () => rm(dir, { recursive: true, force: true }),
    ));
  t.after(stop);

  // The port comes from freePort() and could be taken before radosgw binds it: try again then.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const started = Date.now();
    const result = await run('bash', [s3ServerScript, 'start', dir, String(port)], { timeoutMs: 120_000, allowFailure: true });
    const startMs = Date.now() - started;
    if (result.code !== 0) {
      // The script has stopped whatever it started and removed dir.
      lastError = new Error(`s3-server.sh start exited with ${result.code ?? result.signal}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
      if (/is port \d+ taken/.test(result.stderr)) continue;
      break;
    }
    const vars = parseOutput(result.stdout);
    const base = {
      endpoint: vars.S3_ENDPOINT!,
      accessKey: vars.S3_ACCESS_KEY!,
      secretKey: vars.S3_SECRET_KEY!,
      region: vars.S3_REGION!,
    };
    if (!base.endpoint || !base.accessKey || !base.secretKey || !base.region) {
      await stop();
      throw new Error(`s3-server.sh start printed no S3_* settings:\n${result.stdout}\n${result.stderr}`);
    }
    const pids = await readPids(dir);
    const client = s3ClientFor(base);
    t.after(() => client.destroy());
    return {
      ...base,
      dir,
      pids,
      startMs,
      client,
      async createBucket(name: string) {
        await client.send(new CreateBucketCommand({ Bucket: name }));
      },
      stop,
    };
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}
