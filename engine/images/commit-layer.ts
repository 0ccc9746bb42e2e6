/**
 * Tar streams of a container's tree: the layer of its changes (docker/OCI whiteouts) and the
 * whole tree (`docker export`); and a layer's gzip blob stored in the content store.
 *
 * A layer lists, parents first: every added or modified path with its full metadata (read from
 * `root`: overlay's upper dir, or the merged tree), `.wh.NAME` for each deleted path, and for a
 * directory whose lower content is hidden as a whole (overlay opaque) `.wh..wh..opq` followed by
 * everything the upper dir holds below it, changed or not (the marker hides the rest).
 *
 * gzip: the tar is cut into members of `memberSize` bytes compressed in parallel on libuv's
 * threadpool and concatenated; a gzip file of several members is standard (RFC 1952 2.2) and read
 * as one stream by docker, containerd, podman, Node and gzip(1). One member when the layer is small.
 */
import { randomBytes } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { deflateRawSync, gzip } from 'node:zlib';
import { Digester, type Digest } from '../../shared/digest.js';
import { TsdError } from '../../shared/errors.js';
import { DELETED, type ChangeMap } from './commit-diff.js';
import type { EngineContext } from './engine-context.js';
import { endOfArchive, markerEntry, TreeTar } from './layer-tar.js';

const gzipAsync = promisify(gzip);

export interface LayerPlan {
  /** Where the changed nodes are read. */
  root: string;
  changes: ChangeMap;
  /** Outermost opaque directories, and the upper paths below each (overlay only). */
  opaque?: Set<string>;
  hidden?: Map<string, string[]>;
}

/** Sort key putting a directory right before its children ('a' < 'a/b' < 'a-b'). */
const treeOrder = (a: string, b: string): number => {
  const ka = a.replaceAll('/', '\0');
  const kb = b.replaceAll('/', '\0');
  return ka < kb ? -1 : ka > kb ? 1 : 0;
};

/** `a/b/name` -> `a/b/<marker>` (a whiteout's name lives beside what it deletes). */
function sibling(path: string, name: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? name : `${path.slice(0, slash)}/${name}`;
}

/** In a layer, a `.wh.` name would delete a sibling instead of adding this file. */
function refuseWhiteoutName(path: string): string {
  if (path.slice(path.lastIndexOf('/') + 1).startsWith('.wh.')) {
    throw new TsdError('UNSUPPORTED', `/${path}: a file whose name starts with ".wh." cannot be stored in an image layer (it would read as a whiteout)`);
  }
  return path;
}

/** The layer tar of a set of changes. */
export async function* layerTar(plan: LayerPlan, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const opaque = new Set([...(plan.opaque ?? [])].filter((d) => plan.changes.has(d)));
  /** The outermost opaque directory above `path`: its marker and listing cover the path already. */
  const coveredBy = (path: string): string | undefined => {
    let found: string | undefined;
    if (opaque.size === 0) return undefined;
    for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) {
      if (opaque.has(path.slice(0, i))) found ??= path.slice(0, i);
    }
    return found;
  };
  const tar = new TreeTar(plan.root);
  for (const path of [...plan.changes.keys()].sort(treeOrder)) {
    signal?.throwIfAborted();
    if (coveredBy(path) !== undefined) continue;
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (plan.changes.get(path) === DELETED) {
      yield markerEntry(sibling(path, `.wh.${name}`));
      continue;
    }
    yield* tar.entry(refuseWhiteoutName(path));
    if (opaque.has(path)) {
      yield markerEntry(`${path}/.wh..wh..opq`);
      for (const inner of plan.hidden?.get(path) ?? []) {
        signal?.throwIfAborted();
        yield* tar.entry(refuseWhiteoutName(inner));
      }
    }
  }
  yield endOfArchive();
}

/** Every node below `root` (not the root itself), parents first, in name order. */
export async function* treeTar(root: string, signal?: AbortSignal): AsyncGenerator<Buffer> {
  const tar = new TreeTar(root);
  const walk = async function* (rel: string): AsyncGenerator<Buffer> {
    signal?.throwIfAborted();
    const dir = join(root, rel);
    const names = (await readdir(dir)).sort();
    const stats = await Promise.all(names.map((n) => lstat(join(dir, n), { bigint: true }).catch(() => undefined)));
    for (let i = 0; i < names.length; i++) {
      const st: BigIntStats | undefined = stats[i];
      if (!st) continue; // removed meanwhile
      const path = rel === '' ? names[i]! : `${rel}/${names[i]!}`;
      yield* tar.entry(path, st);
      if (st.isDirectory()) yield* walk(path);
    }
  };
  yield* walk('');
  yield endOfArchive();
}

export interface GzipOptions {
  /** zlib level (default 1: layers are compressed once per commit, fast matters more than the last %). */
  level?: number;
  /**
   * Store (level 0) a member whose samples do not compress (default true): deflating random or
   * already compressed data costs the most time and gains nothing.
   */
  storeIncompressible?: boolean;
  /** Bytes of tar per gzip member (default 4 MiB). */
  memberSize?: number;
  /** Members compressed at once (default: the cores, at most 4: libuv's threadpool size). */
  parallel?: number;
}

const SAMPLE = 16 * 1024;

/** Do three slices of `data` (start, middle, end) shrink by less than 3% at level 1? */
function incompressible(data: Buffer): boolean {
  if (data.length < 4 * SAMPLE) return false;
  let raw = 0;
  let packed = 0;
  for (const at of [0, (data.length - SAMPLE) >> 1, data.length - SAMPLE]) {
    const slice = data.subarray(at, at + SAMPLE);
    raw += slice.length;
    packed += deflateRawSync(slice, { level: 1 }).length;
  }
  return packed >= raw * 0.97;
}

/** gzip `source` as concatenated members compressed in parallel, in order. */
export async function* gzipMembers(source: AsyncIterable<Buffer>, options: GzipOptions = {}): AsyncGenerator<Buffer> {
  const level = options.level ?? 1;
  const memberSize = options.memberSize ?? 4 << 20;
  const parallel = Math.max(1, options.parallel ?? Math.min(4, availableParallelism()));
  const pending: Array<Promise<Buffer>> = [];
  let parts: Buffer[] = [];
  let size = 0;
  const sniff = options.storeIncompressible ?? true;
  const start = () => {
    const member = parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
    const p = gzipAsync(member, { level: sniff && level > 0 && incompressible(member) ? 0 : level });
    p.catch(() => undefined); // awaited in order below; a failure is raised there
    pending.push(p);
    parts = [];
    size = 0;
  };
  try {
    for await (const chunk of source) {
      let rest = chunk;
      while (size + rest.length >= memberSize) {
        const take = memberSize - size;
        parts.push(rest.subarray(0, take));
        size += take;
        rest = rest.subarray(take);
        start();
        if (pending.length >= parallel) yield await pending.shift()!;
      }
      if (rest.length > 0) {
        parts.push(rest);
        size += rest.length;
      }
    }
    if (size > 0 || pending.length === 0) start();
    while (pending.length > 0) yield await pending.shift()!;
  } finally {
    pending.length = 0;
  }
}

export interface StoredLayer {
  /** The compressed blob. */
  digest: Digest;
  size: number;
  /** sha256 of the uncompressed tar. */
  diffId: Digest;
  tarSize: number;
  /** The same blob was already stored (another commit of the same changes). */
  existed: boolean;
}

/**
 * Compress a layer tar and store it in the content store: the blob becomes visible only once the
 * store has verified it (its commit checks the digest computed here).
 */
export async function storeLayer(ctx: EngineContext, tar: AsyncIterable<Buffer>, options: GzipOptions & { signal?: AbortSignal } = {}): Promise<StoredLayer> {
  const diff = new Digester();
  const hashed = (async function* () {
    for await (const chunk of tar) {
      options.signal?.throwIfAborted();
      diff.update(chunk);
      yield chunk;
    }
  })();
  const blob = new Digester();
  const writer = await ctx.content.blobs.writer(`ingest/commit-${randomBytes(12).toString('hex')}`);
  try {
    for await (const chunk of gzipMembers(hashed, options)) {
      blob.update(chunk);
      await writer.write(chunk);
    }
  } catch (err) {
    await writer.cancel().catch(() => undefined);
    throw err;
  }
  const digest = blob.digest();
  const existed = await ctx.content.has(digest);
  const info = await writer.commit({ digest, size: blob.size });
  return { digest: info.digest, size: info.size, diffId: diff.digest(), tarSize: diff.size, existed };
}
