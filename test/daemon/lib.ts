// Shared pieces of the daemon tests: raw Engine API requests over the unix socket, fixture images
// that share layers, and reading a stopped daemon's snapshots.
import { request, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { openSnapshotter } from '../../engine/snapshots/index.js';
import { MT, sha256, type Blob, type Layer, type TestImage } from '../helpers/images.js';

export interface ApiResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Header names as sent on the wire (case kept). */
  rawHeaderNames: string[];
  body: Buffer;
  text: string;
  json<T = unknown>(): T;
}

export function api(
  socket: string,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: Buffer | string; timeoutMs?: number } = {},
): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, headers: options.headers, timeout: options.timeoutMs ?? 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = body.toString('utf8');
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaderNames: res.rawHeaders.filter((_, i) => i % 2 === 0),
          body,
          text,
          json: <T>() => JSON.parse(text) as T,
        });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** The JSON lines of a streamed answer (pull, push, load). */
export function messages(text: string): Array<Record<string, unknown>> {
  return text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** An image made of the given layers (shared with other images), with its own config and manifest. */
export function composeImage(layers: Layer[], label: string): TestImage {
  const config = {
    created: '2024-02-02T00:00:00Z',
    architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    os: 'linux',
    config: { Env: ['PATH=/usr/bin:/bin'], Cmd: ['/bin/sh'], Labels: { 'org.tsdocker.test.compose': label } },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((_, i) => ({ created: '2024-02-02T00:00:00Z', created_by: `${label} layer ${i}` })),
  };
  const configBytes = Buffer.from(JSON.stringify(config));
  const configBlob: Blob = { mediaType: MT.ociConfig, digest: sha256(configBytes), size: configBytes.length, bytes: configBytes };
  const manifest = {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: configBlob.mediaType, digest: configBlob.digest, size: configBlob.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  return {
    kind: 'image',
    platform: { os: 'linux', architecture: config.architecture },
    config: configBlob,
    layers,
    manifest: { mediaType: MT.ociManifest, digest: sha256(manifestBytes), size: manifestBytes.length, bytes: manifestBytes },
  };
}

/** containerd's chain IDs of a list of DiffIDs. */
export function chainIdsOf(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) out.push(out.length === 0 ? d : sha256(`${out[out.length - 1]} ${d}`));
  return out;
}

/** Committed snapshot keys of a data root whose daemon is stopped. */
export async function committedSnapshots(dataRoot: string, driver: 'overlay' | 'vfs'): Promise<string[]> {
  const snapshots = await openSnapshotter({ root: join(dataRoot, driver), driver });
  const keys: string[] = [];
  for await (const info of snapshots.walk()) if (info.kind === 'committed') keys.push(info.key);
  return keys.sort();
}
