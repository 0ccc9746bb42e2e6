// Shared pieces of the pull-through cache tests: a counting (and misbehaving, and throttling)
// reverse proxy that sits between the mirror and its upstream, and small HTTP helpers.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { OciClient, type Blob, type Manifest } from '../helpers/oci-client.js';

type Hooks = { after(fn: () => unknown): void };

export interface ProxiedRequest {
  method: string;
  path: string;
  status?: number;
  at: number;
  /** When the last byte of the response was handed to the mirror. */
  finishedAt?: number;
}

export type Fault = undefined | 429 | 503 | 'corrupt-blobs' | 'hang' | 'redirect-blobs';

export interface CountingProxy {
  url: string;
  port: number;
  /** Where requests go; may be set after the proxy started (to put the proxy's URL in a config first). */
  target: string;
  requests: ProxiedRequest[];
  fault: Fault;
  /** Blob response bodies are sent at this rate (bytes per second) when set. */
  throttle: number | undefined;
  /** Requests matching method and a path test. */
  count(method: string, path: string | RegExp): number;
  reset(): void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * An HTTP reverse proxy on loopback that records every request, can answer 429/503 instead of
 * forwarding, hang, corrupt blob bodies, or throttle blob bodies. Closed when the test ends.
 */
export async function startCountingProxy(t: Hooks, target = ''): Promise<CountingProxy> {
  const state: CountingProxy = {
    url: '',
    port: 0,
    target,
    requests: [],
    fault: undefined,
    throttle: undefined,
    count(method, path) {
      return this.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path))).length;
    },
    reset() {
      this.requests.length = 0;
    },
  };
  const hanging = new Set<IncomingMessage>();
  const server: Server = createServer((req, res) => {
    const entry: ProxiedRequest = { method: req.method ?? '', path: req.url ?? '', at: Date.now() };
    state.requests.push(entry);
    const fault = state.fault;
    if (fault === 'hang') {
      hanging.add(req);
      req.once('close', () => hanging.delete(req));
      return;
    }
    if (fault === 429 || fault === 503) {
      const body = JSON.stringify({ errors: [{ code: fault === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE', message: 'injected by the test proxy' }] });
      entry.status = fault;
      res.writeHead(fault, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...(fault === 429 ? { 'retry-after': '7' } : {}) });
      res.end(body);
      return;
    }
    const url = new URL(req.url ?? '/', state.target);
    if (fault === 'redirect-blobs' && req.method === 'GET' && /\/blobs\/sha256:/.test(url.pathname)) {
      // As registries do with storage URLs: another origin (the upstream itself, past this proxy).
      entry.status = 307;
      res.writeHead(307, { location: url.toString(), 'content-length': 0 });
      res.end();
      return;
    }
    const upstream = httpRequest(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (ur) => {
      entry.status = ur.statusCode;
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      const isBlob = req.method === 'GET' && /\/blobs\/sha256:/.test(url.pathname) && ur.statusCode === 200;
      const throttle = isBlob ? state.throttle : undefined;
      const corrupt = isBlob && fault === 'corrupt-blobs';
      const transform = async function* (source: AsyncIterable<Buffer>) {
        let first = true;
        for await (const chunk of source) {
          let c = chunk;
          if (corrupt && first) {
            c = Buffer.from(chunk);
            c[0] = c[0]! ^ 0xff;
          }
          first = false;
          if (throttle === undefined) {
            yield c;
            continue;
          }
          const piece = 32 * 1024;
          for (let off = 0; off < c.length; off += piece) {
            const p = c.subarray(off, Math.min(off + piece, c.length));
            yield p;
            await sleep((p.length / throttle) * 1000);
          }
        }
      };
      pipeline(ur, transform, res).then(
        () => (entry.finishedAt = Date.now()),
        () => res.destroy(),
      );
    });
    upstream.on('error', () => {
      if (!res.headersSent) {
        res.writeHead(502);
        res.end();
      } else res.destroy();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const addr = server.address();
  state.port = typeof addr === 'object' && addr ? addr.port : 0;
  state.url = `http://127.0.0.1:${state.port}`;
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const r of hanging) r.socket.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  return state;
}

export function sha256(data: Uint8Array): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** The path of a blob's data in a distribution-layout root directory. */
export function blobDataPath(root: string, digest: string): string {
  const hex = digest.slice('sha256:'.length);
  return join(root, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

export function layerLinkPath(root: string, name: string, digest: string): string {
  return join(root, 'docker/registry/v2/repositories', name, '_layers/sha256', digest.slice('sha256:'.length), 'link');
}

export function storedLocally(root: string, name: string, digest: string): boolean {
  return existsSync(blobDataPath(root, digest)) && existsSync(layerLinkPath(root, name, digest));
}

/** Entries left in a repository's `_uploads` (a pull-through fetch must leave none). */
export async function uploadLeftovers(root: string, name: string): Promise<string[]> {
  try {
    return await readdir(join(root, 'docker/registry/v2/repositories', name, '_uploads'));
  } catch {
    return [];
  }
}

/** Push an image (blobs + manifest under `tag`) with OciClient; returns the manifest with its blobs. */
export async function pushImage(client: OciClient, name: string, tag: string, options: { layers?: number; layerSize?: number } = {}): Promise<Manifest & { blobs: Blob[] }> {
  const image = await client.makeImage(name, { layers: options.layers ?? 2, layerSize: options.layerSize ?? 2048 });
  await client.pushManifest(name, tag, image);
  return image;
}

/** A GET with node:http that reports when the first body byte and the end arrived. */
export function timedGet(url: string): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer; firstByteAt: number; endAt: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let firstByteAt = 0;
      res.on('data', (c: Buffer) => {
        if (!firstByteAt) firstByteAt = Date.now();
        chunks.push(c);
      });
      res.on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), firstByteAt, endAt: Date.now() }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** GET a blob through `client` and assert its bytes are `blob`'s. */
export async function assertBlob(client: OciClient, name: string, blob: Blob, what = ''): Promise<void> {
  const r = await client.getBlob(name, blob.digest);
  assert.equal(r.status, 200, `${what} GET blob ${name}@${blob.digest}: ${r.status} ${r.text().slice(0, 300)}`);
  assert.equal(r.headers.get('docker-content-digest'), blob.digest);
  assert.equal(sha256(r.body), blob.digest, `${what} blob bytes`);
  assert.equal(r.body.length, blob.size);
}
