// Shared pieces of the push tests: a temp engine, images loaded into it from archives built with
// test/helpers/images.ts, a counting proxy in front of a registry (what went over the wire), and
// readers of what a registry serves.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { openEngine, type Engine } from '../../engine/images/open-engine.js';
import { load } from '../../engine/images/archive.js';
import type { JSONMessage } from '../../engine/images/json-message.js';
import { tempDir } from '../helpers/env.js';
import { writeDockerArchive, writeOciLayout, type TestImage, type TestIndex } from '../helpers/images.js';
import { run } from '../helpers/run.js';

type Hooks = { after(fn: () => unknown): void };

/** An engine over a temp data root (vfs), with its own empty docker config (no stray credentials). */
export async function tempEngine(t: Hooks, options: { maxConcurrentUploads?: number } = {}): Promise<Engine> {
  const dir = await tempDir(t, 'tsd-push-engine-');
  await writeFile(join(dir, 'config.json'), '{}\n');
  const engine = await openEngine({
    dataRoot: join(dir, 'data'),
    storageDriver: 'vfs',
    unpackWorkers: 1,
    dockerConfig: { path: join(dir, 'config.json') },
    ...options,
  });
  t.after(() => engine.close());
  return engine;
}

/** Load images into the engine from an OCI layout tarball (blobs kept as built: gzip layers). */
export async function loadOci(t: Hooks, engine: Engine, entries: Array<{ tag: string; image: TestImage | TestIndex }>): Promise<void> {
  const dir = await tempDir(t, 'tsd-push-oci-');
  const layout = join(dir, 'layout');
  await mkdir(layout);
  await writeOciLayout(layout, entries);
  const file = join(dir, 'image.tar');
  await run('tar', ['-C', layout, '-cf', file, '.']);
  await load(engine.images, createReadStream(file));
}

/** Load an image from a docker archive (uncompressed layers: the engine keeps them so). */
export async function loadDockerArchive(t: Hooks, engine: Engine, image: TestImage, tags: string[]): Promise<void> {
  const dir = await tempDir(t, 'tsd-push-archive-');
  const file = join(dir, 'image.tar');
  await writeDockerArchive(file, image, tags);
  await load(engine.images, createReadStream(file));
}

export interface Logged {
  method: string;
  path: string;
  /** Request body bytes. */
  bytes: number;
  status: number;
  /** When the request arrived and when its answer was sent (ms). */
  start: number;
  end: number;
}

export interface CountingProxy {
  host: string;
  log: Logged[];
  close(): Promise<void>;
}

/**
 * A loopback HTTP proxy to `upstream` (`127.0.0.1:PORT`) that logs every request and its body size.
 * `holdUploadsMs` holds the answer to each blob upload PUT that long (so uploads overlap visibly).
 */
export async function countingProxy(t: Hooks, upstream: string, options: { holdUploadsMs?: number } = {}): Promise<CountingProxy> {
  const log: Logged[] = [];
  const [upHost, upPort] = upstream.split(':') as [string, string];
  const server = createServer((req, res) => {
    const entry: Logged = { method: req.method ?? '', path: req.url ?? '', bytes: 0, status: 0, start: performance.now(), end: 0 };
    const hold = req.method === 'PUT' && /\/blobs\/uploads\//.test(entry.path) ? (options.holdUploadsMs ?? 0) : 0;
    log.push(entry);
    req.on('data', (c: Buffer) => (entry.bytes += c.length));
    const out = request({ host: upHost, port: Number(upPort), method: req.method, path: req.url, headers: req.headers }, (up) => {
      entry.status = up.statusCode ?? 0;
      const headers: IncomingHttpHeaders = { ...up.headers };
      const location = headers.location;
      if (location?.startsWith(`http://${upstream}`)) headers.location = `http://${proxyHost}${location.slice(`http://${upstream}`.length)}`;
      setTimeout(() => {
        entry.end = performance.now();
        res.writeHead(up.statusCode ?? 502, headers);
        up.pipe(res);
      }, hold);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const proxyHost = `127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  t.after(close);
  return { host: proxyHost, log, close };
}

/** Blob uploads with a body (monolithic PUT or PATCH chunks), as opposed to HEADs, mounts and empty PUTs. */
export function blobBodies(log: Logged[]): Logged[] {
  return log.filter((l) => /\/blobs\/uploads\//.test(l.path) && (l.method === 'PUT' || l.method === 'PATCH' || l.method === 'POST') && l.bytes > 0);
}

/** The most requests matching `which` that were in flight at once. */
export function maxInFlight(log: Logged[], which: (l: Logged) => boolean): number {
  const events = log.filter(which).flatMap((l) => [{ at: l.start, d: 1 }, { at: l.end, d: -1 }]);
  events.sort((a, b) => a.at - b.at || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of events) max = Math.max(max, (now += e.d));
  return max;
}

export const manifestAccept = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** GET a manifest from a registry (anonymous): its bytes and the digest header. */
export async function registryManifest(base: string, repo: string, ref: string, authorization?: string): Promise<{ raw: Buffer; digest: string | null; type: string | null }> {
  const res = await fetch(`${base}/v2/${repo}/manifests/${ref}`, { headers: { accept: manifestAccept, ...(authorization ? { authorization } : {}) } });
  assert.equal(res.status, 200, `GET ${repo}:${ref}: ${res.status} ${await res.clone().text()}`);
  return { raw: Buffer.from(await res.arrayBuffer()), digest: res.headers.get('docker-content-digest'), type: res.headers.get('content-type') };
}

/** GET a blob and check it hashes to its digest; returns its bytes. */
export async function registryBlob(base: string, repo: string, digest: string): Promise<Buffer> {
  const res = await fetch(`${base}/v2/${repo}/blobs/${digest}`);
  assert.equal(res.status, 200, `GET blob ${digest} of ${repo}: ${res.status}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.equal(sha256(bytes), digest, `the registry serves other bytes for ${digest}`);
  return bytes;
}

/** Per layer id, the statuses in order, with runs of `Pushing` collapsed into one. */
export function statusesById(messages: JSONMessage[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of messages) {
    if (m.id === undefined || m.status === undefined) continue;
    const list = out.get(m.id) ?? [];
    if (!(m.status === 'Pushing' && list[list.length - 1] === 'Pushing')) list.push(m.status);
    out.set(m.id, list);
  }
  return out;
}

/** The messages without an id (the repository line, the digest line, aux). */
export function headAndTail(messages: JSONMessage[]): JSONMessage[] {
  return messages.filter((m) => m.id === undefined);
}

export function shortHex(digest: string): string {
  return digest.slice(digest.indexOf(':') + 1, digest.indexOf(':') + 13);
}
