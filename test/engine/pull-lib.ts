/**
 * Helpers for the pull tests: images with chosen layers (gzip, zstd, uncompressed, hostile),
 * pushed to a real registry with skopeo; a loopback proxy in front of a registry that counts blob
 * requests and bytes and can corrupt or hold back a blob; an engine over a temp data root; and a
 * way to read what a pull unpacked.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { request, createServer, Agent, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { gzipSync } from 'node:zlib';
import type { Digest } from '../../shared/digest.js';
import type { JSONMessage } from '../../engine/images/json-message.js';
import { openEngine, type Engine } from '../../engine/images/open-engine.js';
import { mount, unmount } from '../../engine/snapshots/index.js';
import { tempDir } from '../helpers/env.js';
import { MT, hostPlatform, writeOciLayout, type Blob, type Layer, type Platform, type TestImage, type TestIndex } from '../helpers/images.js';
import { run } from '../helpers/run.js';
import { makeTar, zstdCompress, type E } from './unpack/lib.js';

type Hooks = { after(fn: () => unknown): void };

export const LayerTypes = {
  gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  none: 'application/vnd.oci.image.layer.v1.tar',
} as const;

export type Compression = keyof typeof LayerTypes;

function sha256(b: Buffer | string): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

function blob(mediaType: string, bytes: Buffer): Blob {
  return { mediaType, digest: sha256(bytes), size: bytes.length, bytes };
}

/** A layer from tar entries; `files` lists the regular files in it (for checks after a pull). */
export async function layerOf(entries: E[], compression: Compression = 'gzip'): Promise<Layer> {
  const tar = await makeTar(entries);
  const bytes = compression === 'gzip' ? gzipSync(tar) : compression === 'zstd' ? zstdCompress(tar) : tar;
  const files = new Map<string, Buffer>();
  for (const e of entries) if ((e.type ?? 'file') === 'file') files.set(e.name, Buffer.from(e.data ?? ''));
  return { ...blob(LayerTypes[compression], bytes), diffId: sha256(tar), tar, files };
}

/** A layer of `count` random files of `size` bytes under a directory of its own. */
export async function randomLayer(count = 3, size = 4096, compression: Compression = 'gzip'): Promise<Layer> {
  const dir = `data-${randomBytes(4).toString('hex')}`;
  const entries: E[] = [{ name: `${dir}/`, type: 'directory' }];
  for (let i = 0; i < count; i++) entries.push({ name: `${dir}/f${i}`, data: randomBytes(size) });
  return layerOf(entries, compression);
}

/** An OCI image of these layers (bottom first); `diffIds` overrides the config's (to forge one). */
export function imageOf(layers: Layer[], options: { platform?: Platform; diffIds?: string[]; label?: string } = {}): TestImage {
  const platform = options.platform ?? hostPlatform;
  const config = blob(
    MT.ociConfig,
    Buffer.from(
      JSON.stringify({
        created: '2024-01-01T00:00:00Z',
        architecture: platform.architecture,
        os: platform.os,
        config: { Cmd: ['/bin/sh'], Labels: { 'org.tsdocker.test': options.label ?? randomBytes(4).toString('hex') } },
        rootfs: { type: 'layers', diff_ids: options.diffIds ?? layers.map((l) => l.diffId) },
        history: layers.map((_, i) => ({ created: '2024-01-01T00:00:00Z', created_by: `layer ${i}` })),
      }),
    ),
  );
  const manifest = blob(
    MT.ociManifest,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociManifest,
        config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
        layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
      }),
    ),
  );
  return { kind: 'image', platform, config, layers, manifest };
}

/** An OCI index over images (one per platform). */
export function indexOf(images: TestImage[]): TestIndex {
  const index = blob(
    MT.ociIndex,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MT.ociIndex,
        manifests: images.map((i) => ({ mediaType: i.manifest.mediaType, digest: i.manifest.digest, size: i.manifest.size, platform: i.platform })),
      }),
    ),
  );
  return { kind: 'index', index, images };
}

/** Push with skopeo from an OCI layout, keeping digests (an uncompressed or zstd layer stays as it is). */
export async function push(t: Hooks, host: string, reference: string, image: TestImage | TestIndex, creds?: string): Promise<void> {
  const dir = await tempDir(t, 'tsd-pull-layout-');
  await writeOciLayout(dir, [{ tag: 'x', image }]);
  await run('skopeo', [
    'copy',
    '--quiet',
    '--all',
    '--preserve-digests',
    '--dest-tls-verify=false',
    ...(creds ? ['--dest-creds', creds] : []),
    `oci:${dir}:x`,
    `docker://${host}/${reference}`,
  ]);
}

export async function engineFor(t: TestContext, driver: 'overlay' | 'vfs', dataRoot?: string): Promise<Engine> {
  const dir = dataRoot ?? (await tempDir(t, `tsd-pull-${driver}-`));
  const engine = await openEngine({ dataRoot: dir, storageDriver: driver, unpackWorkers: 2 });
  t.after(() => engine.close());
  return engine;
}

export async function snapshotKeys(engine: Engine): Promise<string[]> {
  const out: string[] = [];
  for await (const i of engine.snapshots.walk()) out.push(`${i.kind}:${i.key}`);
  return out.sort();
}

/** Read files through a read-only view of a committed chain, as a container would see them. */
export async function readThrough(t: TestContext, engine: Engine, chain: string, paths: string[]): Promise<Map<string, Buffer | undefined>> {
  const dir = await tempDir(t, 'tsd-pull-view-');
  const target = join(dir, 'm');
  await mkdir(target);
  const key = `view-${randomBytes(6).toString('hex')}`;
  await mount(await engine.snapshots.view(key, chain), target);
  try {
    const out = new Map<string, Buffer | undefined>();
    for (const p of paths) out.set(p, await readFile(join(target, p)).catch(() => undefined));
    return out;
  } finally {
    await unmount(target, { detach: true });
    await engine.snapshots.remove(key);
  }
}

/** Every file of every layer is visible at the top with its content (later layers win). */
export async function assertFiles(t: TestContext, engine: Engine, chain: string, layers: Layer[]): Promise<void> {
  const expected = new Map<string, Buffer>();
  for (const l of layers) for (const [p, c] of l.files) expected.set(p, c);
  const seen = await readThrough(t, engine, chain, [...expected.keys()]);
  for (const [p, c] of expected) {
    const got = seen.get(p);
    if (!got || !got.equals(c)) throw new Error(`${p}: ${got ? `${got.length} bytes differ` : 'missing'} at the top of ${chain}`);
  }
}

export function collector(): { messages: JSONMessage[]; sink: (m: JSONMessage) => void } {
  const messages: JSONMessage[] = [];
  return { messages, sink: (m) => messages.push(structuredClone(m)) };
}

/** The statuses a layer went through, progress lines collapsed (`Downloading` once per run). */
export function layerStatuses(messages: JSONMessage[], id: string): string[] {
  const out: string[] = [];
  for (const m of messages) if (m.id === id && m.status && out[out.length - 1] !== m.status) out.push(m.status);
  return out;
}

// ---- a proxy in front of a registry ----------------------------------------------------------

export interface RegistryProxy {
  host: string;
  /** Blob GETs per digest (each request, ranged or not). */
  blobGets: Map<string, number>;
  /** Body bytes sent for blob GETs, per digest. */
  blobBytes: Map<string, number>;
  /** Flip one byte in this blob's body from now on. */
  corrupt: Set<string>;
  /** Hold a blob's body after this many bytes until `release()`. */
  holdAfter: Map<string, number>;
  /** Resolves when some blob reached its hold point. */
  held: Promise<string>;
  release(): void;
  totalBlobBytes(): number;
  reset(): void;
}

function blobDigestOf(req: IncomingMessage): string | undefined {
  const m = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(req.url ?? '');
  return req.method === 'GET' && m ? m[1] : undefined;
}

export async function startRegistryProxy(t: Hooks, upstream: string): Promise<RegistryProxy> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  let onHeld: (d: string) => void = () => {};
  let releaseHeld: Array<() => void> = [];
  const state: RegistryProxy = {
    host: '',
    blobGets: new Map(),
    blobBytes: new Map(),
    corrupt: new Set(),
    holdAfter: new Map(),
    held: new Promise((r) => (onHeld = r)),
    release() {
      const waiting = releaseHeld;
      releaseHeld = [];
      for (const r of waiting) r();
    },
    totalBlobBytes: () => [...state.blobBytes.values()].reduce((a, b) => a + b, 0),
    reset() {
      state.blobGets.clear();
      state.blobBytes.clear();
    },
  };
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const digest = blobDigestOf(req);
    if (digest) state.blobGets.set(digest, (state.blobGets.get(digest) ?? 0) + 1);
    const out = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      let sent = 0;
      let flipped = false;
      up.on('data', (chunk: Buffer) => {
        if (!digest) {
          res.write(chunk);
          return;
        }
        const limit = state.holdAfter.get(digest);
        if (limit !== undefined && sent + chunk.length > limit) {
          state.holdAfter.delete(digest);
          const head = chunk.subarray(0, Math.max(0, limit - sent));
          const tail = chunk.subarray(head.length);
          res.write(head);
          sent += head.length;
          state.blobBytes.set(digest, (state.blobBytes.get(digest) ?? 0) + head.length);
          up.pause();
          releaseHeld.push(() => {
            if (res.destroyed) return;
            res.write(tail);
            sent += tail.length;
            state.blobBytes.set(digest, (state.blobBytes.get(digest) ?? 0) + tail.length);
            up.resume();
          });
          const notify = onHeld;
          state.held = new Promise((r) => (onHeld = r));
          notify(digest);
          return;
        }
        let body = chunk;
        if (state.corrupt.has(digest) && !flipped && chunk.length > 0) {
          body = Buffer.from(chunk);
          body[body.length >> 1] ^= 0xff;
          flipped = true;
        }
        sent += body.length;
        state.blobBytes.set(digest, (state.blobBytes.get(digest) ?? 0) + body.length);
        res.write(body);
      });
      up.on('end', () => res.end());
      up.on('error', () => res.destroy());
      res.on('close', () => up.destroy());
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        state.release();
        agent.destroy();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  state.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

export function digestsOf(layers: Array<{ digest: string }>): Digest[] {
  return layers.map((l) => l.digest as Digest);
}
