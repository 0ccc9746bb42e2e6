// A throwaway radosgw (single-node Ceph: mon + memstore osd + radosgw) for the bench's S3 mode,
// started and stopped with scripts/s3-server.sh, by the PIDs that script's daemons wrote.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { parseOutput, readPids, s3ClientFor } from '../../test/helpers/s3-server.js';
import { freePort, processTreeCpuSeconds } from './servers.js';

export interface BenchS3 {
  endpoint: string;
  port: number;
  accessKey: string;
  secretKey: string;
  region: string;
  dir: string;
  /** PIDs of the mon, osd and radosgw daemons (from their pid files). */
  pids: number[];
  startMs: number;
  client: S3Client;
}

let current: { dir: string; script: string; keepLogTo?: string; starter?: ChildProcess; stopped?: Promise<void> } | undefined;

/** How much RAM-backed space memstore reports (RAM is used only for what is stored). */
const defaultMemstoreBytes = String(16 * 1024 * 1024 * 1024);



function runStart(script: string, dir: string, port: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    env.S3_MEMSTORE_BYTES ??= defaultMemstoreBytes;
    const child = spawn('bash', [script, 'start', dir, String(port)], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    current!.starter = child;
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    // The script gives up by itself after S3_START_TIMEOUT (60 s); this is a last bound.
    const timer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGTERM'), 120_000);
    child.once('error', (e) => (stderr += `spawn error: ${e.message}\n`));
    child.once('close', (code) => {
      clearTimeout(timer);
      current!.starter = undefined;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Start a fresh cluster on a free loopback port (a few tries if the port is taken meanwhile). */
export async function startS3(projectRoot: string, logCopy?: string): Promise<BenchS3> {
  const script = join(projectRoot, 'scripts', 's3-server.sh');
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    // The script wants a directory that does not exist or is empty.
    const dir = await mkdtemp(join(tmpdir(), 'tsdocker-bench-s3-'));
    current = { dir, script, keepLogTo: logCopy };
    const port = await freePort();
    const t0 = Date.now();
    const r = await runStart(script, dir, port);
    const startMs = Date.now() - t0;
    if (r.code !== 0) {
      // The script has stopped what it started and removed dir (unless it was killed mid-way).
      await stopS3();
      lastError = `s3-server.sh start exited with ${r.code}\n${r.stderr.slice(-3000)}`;
      if (/is port \d+ taken/.test(r.stderr)) continue;
      break;
    }
    const v = parseOutput(r.stdout);
    if (!v.S3_ENDPOINT || !v.S3_ACCESS_KEY || !v.S3_SECRET_KEY || !v.S3_REGION) {
      await stopS3();
      throw new Error(`s3-server.sh start printed no S3_* settings:\n${r.stdout}\n${r.stderr}`);
    }
    const base = { endpoint: v.S3_ENDPOINT, accessKey: v.S3_ACCESS_KEY, secretKey: v.S3_SECRET_KEY, region: v.S3_REGION };
    return { ...base, port, dir, pids: await readPids(dir), startMs, client: s3ClientFor(base) };
  }
  throw new Error(lastError);
}

export async function createBucket(s3: BenchS3, name: string): Promise<void> {
  await s3.client.send(new CreateBucketCommand({ Bucket: name }));
}

/** Objects and bytes in a bucket (for the notes). */
export async function bucketUsage(s3: BenchS3, bucket: string): Promise<{ objects: number; bytes: number }> {
  let objects = 0;
  let bytes = 0;
  let token: string | undefined;
  do {
    const page = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, ...(token ? { ContinuationToken: token } : {}) }));
    for (const o of page.Contents ?? []) {
      objects++;
      bytes += o.Size ?? 0;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { objects, bytes };
}

/** CPU seconds of the cluster's daemons (radosgw, osd, mon). */
export function s3CpuSeconds(s3: BenchS3 | undefined): number {
  if (!s3) return 0;
  return s3.pids.reduce((sum, pid) => sum + processTreeCpuSeconds(pid), 0);
}

export function radosgwVersion(): string {
  try {
    return execFileSync('radosgw', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/**
 * Stop the cluster (idempotent): a start still running gets SIGTERM (the script then tears down
 * what it started), then `s3-server.sh stop DIR` stops the daemons by their pid files. radosgw's
 * log is copied out first (startS3's logCopy).
 */
export function stopS3(): Promise<void> {
  const c = current;
  if (!c) return Promise.resolve();
  return (c.stopped ??= (async () => {
    if (c.starter?.pid && c.starter.exitCode === null && c.starter.signalCode === null) {
      const starter = c.starter;
      const closed = new Promise<void>((r) => starter.once('close', () => r()));
      try {
        process.kill(starter.pid!, 'SIGTERM');
      } catch {
        /* gone */
      }
      await closed;
    }
    if (c.keepLogTo) await copyFile(join(c.dir, 'log', 'client.rgw.log'), c.keepLogTo).catch(() => undefined);
    await new Promise<void>((resolve) => {
      const child = spawn('bash', [c.script, 'stop', c.dir], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.once('error', () => resolve());
      child.once('close', () => resolve());
    });
    await rm(c.dir, { recursive: true, force: true });
    if (current === c) current = undefined;
  })());
}

/** Synchronous last resort (process 'exit'): stop the daemons if stopS3 has not run. */
export function stopS3Sync(): void {
  const c = current;
  if (!c || c.stopped) return;
  current = undefined;
  if (c.starter?.pid) {
    try {
      process.kill(c.starter.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  }
  try {
    execFileSync('bash', [c.script, 'stop', c.dir], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60_000 });
  } catch {
    /* best effort */
  }
}

/**
 * Put the empty blob into `repo` of a registry that keeps distribution's layout under
 * `rootdirectory` in `bucket`: the (empty) data object and the repository's layer link. For
 * distribution 2.8, which cannot push a 0-byte blob to RGW (its writer completes a multipart
 * upload with no parts: MalformedXML), while the HEAD row needs that blob (see bench/README.md).
 */
export async function seedEmptyBlob(s3: BenchS3, bucket: string, rootdirectory: string, repo: string, digest: string): Promise<void> {
  const root = rootdirectory.replace(/^\/+|\/+$/g, '');
  const base = `${root ? root + '/' : ''}docker/registry/v2`;
  const hex = digest.slice('sha256:'.length);
  const put = (Key: string, body: string) =>
    s3.client.send(new PutObjectCommand({ Bucket: bucket, Key, Body: Buffer.from(body), ContentLength: Buffer.byteLength(body) }));
  await put(`${base}/blobs/sha256/${hex.slice(0, 2)}/${hex}/data`, '');
  await put(`${base}/repositories/${repo}/_layers/sha256/${hex}/link`, digest);
}
