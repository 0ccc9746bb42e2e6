/**
 * Layer decompression by media type. gzip uses node:zlib (its work runs on libuv's threadpool);
 * zstd uses the system's libzstd through koffi (Node 20's zlib has no zstd), one
 * ZSTD_decompressStream call per output block, run as koffi async calls on the threadpool too.
 * The declared compression is checked against the stream's magic bytes, so a mislabelled layer
 * fails with a clear message instead of a confusing tar error.
 */
import { createRequire } from 'node:module';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { TsdError } from '../../shared/errors.js';

export type Compression = 'none' | 'gzip' | 'zstd';

const layerMediaTypes: ReadonlyMap<string, Compression> = new Map([
  ['application/vnd.oci.image.layer.v1.tar', 'none'],
  ['application/vnd.oci.image.layer.v1.tar+gzip', 'gzip'],
  ['application/vnd.oci.image.layer.v1.tar+zstd', 'zstd'],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar', 'none'],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar+gzip', 'gzip'],
  ['application/vnd.oci.image.layer.nondistributable.v1.tar+zstd', 'zstd'],
  ['application/vnd.docker.image.rootfs.diff.tar', 'none'],
  ['application/vnd.docker.image.rootfs.diff.tar.gzip', 'gzip'],
  ['application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', 'gzip'],
  ['application/vnd.docker.image.rootfs.diff.tar.zstd', 'zstd'],
]);

export function compressionOf(mediaType: string): Compression {
  const c = layerMediaTypes.get(mediaType.split(';', 1)[0]!.trim());
  if (!c) throw new TsdError('UNSUPPORTED', `"${mediaType}" is not a layer media type this engine can apply`, { detail: { reason: 'media-type', mediaType } });
  return c;
}

export function sniff(head: Uint8Array): Compression | 'unknown' {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'unknown';
}

function corrupt(kind: Compression, cause: unknown): TsdError {
  const msg = (cause as Error | undefined)?.message ?? String(cause);
  return new TsdError('INVALID_ARGUMENT', `the ${kind} layer stream is truncated or corrupt: ${msg}`, { cause, detail: { reason: 'compression-invalid' } });
}

/** Decompress `source` as `kind`, after checking the first bytes agree with it. */
export async function* decompress(source: AsyncIterable<Uint8Array>, kind: Compression): AsyncGenerator<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  // Read enough of the head to check the magic bytes, then put it back in front.
  const head: Uint8Array[] = [];
  let headLen = 0;
  let done = false;
  while (headLen < 4) {
    const r = await it.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value);
    headLen += r.value.length;
  }
  const first = Buffer.concat(head);
  const seen = sniff(first);
  if (kind === 'none' && seen !== 'unknown') {
    throw new TsdError('INVALID_ARGUMENT', `layer is declared uncompressed but its data is ${seen}`, { detail: { reason: 'compression-mismatch' } });
  }
  if (kind !== 'none' && seen !== kind && first.length > 0) {
    throw new TsdError('INVALID_ARGUMENT', `layer is declared ${kind} but its data is not (${seen === 'unknown' ? 'no known magic' : seen})`, {
      detail: { reason: 'compression-mismatch' },
    });
  }
  async function* rest(): AsyncGenerator<Uint8Array> {
    try {
      if (first.length > 0) yield first;
      if (done) return;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    } finally {
      if (!done) await it.return?.();
    }
  }
  if (kind === 'none') {
    yield* rest();
  } else if (kind === 'gzip') {
    if (first.length === 0) throw corrupt('gzip', new Error('empty stream'));
    yield* gunzip(rest());
  } else {
    yield* unzstd(rest());
  }
}

async function* gunzip(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const input = Readable.from(source, { objectMode: false });
  const gz = createGunzip({ chunkSize: 128 * 1024 });
  input.on('error', (err) => gz.destroy(err));
  input.pipe(gz);
  try {
    for await (const chunk of gz) yield chunk as Buffer;
  } catch (err) {
    if (err instanceof TsdError) throw err;
    if ((err as { code?: string }).code?.startsWith('Z_')) throw corrupt('gzip', err);
    throw err;
  } finally {
    input.destroy();
    gz.destroy();
  }
}

// ---- zstd through libzstd.so.1 -------------------------------------------------------------

type Koffi = typeof import('koffi');
interface Zstd {
  createDCtx(): unknown;
  freeDCtx(ctx: unknown): void;
  isError(code: number | bigint): boolean;
  errorName(code: number | bigint): string;
  /** One ZSTD_decompressStream_simpleArgs call on the threadpool; resolves to [ret, dstPos, srcPos]. */
  step(ctx: unknown, dst: Buffer, src: Uint8Array, srcPos: number): Promise<[number, number, number]>;
}

let zstdLib: Zstd | Error | undefined;

function loadZstd(): Zstd {
  if (zstdLib instanceof Error) throw zstdLib;
  if (zstdLib) return zstdLib;
  try {
    const koffi = createRequire(import.meta.url)('koffi') as Koffi;
    const lib = koffi.load('libzstd.so.1');
    koffi.opaque('tsd_ZSTD_DCtx');
    const create = lib.func('tsd_ZSTD_DCtx *ZSTD_createDCtx(void)');
    const free = lib.func('size_t ZSTD_freeDCtx(tsd_ZSTD_DCtx *ctx)');
    const isError = lib.func('unsigned int ZSTD_isError(size_t code)');
    const errorName = lib.func('const char *ZSTD_getErrorName(size_t code)');
    const step = lib.func(
      'size_t ZSTD_decompressStream_simpleArgs(tsd_ZSTD_DCtx *ctx, uint8_t *dst, size_t cap, _Inout_ size_t *dstPos, const uint8_t *src, size_t srcSize, _Inout_ size_t *srcPos)',
    );
    zstdLib = {
      createDCtx: () => create(),
      freeDCtx: (ctx) => void free(ctx),
      isError: (code) => isError(code) !== 0,
      errorName: (code) => errorName(code) as string,
      step: (ctx, dst, src, srcPos) =>
        new Promise((resolve, reject) => {
          const dp = [0];
          const sp = [srcPos];
          step.async(ctx, dst, dst.length, dp, src, src.length, sp, (err: unknown, ret: number | bigint) => {
            if (err) reject(err);
            else resolve([Number(ret), dp[0]!, sp[0]!]);
          });
        }),
    };
    return zstdLib;
  } catch (err) {
    zstdLib = new TsdError('UNSUPPORTED', 'zstd-compressed layers need the system library libzstd.so.1 (Debian package libzstd1), which could not be loaded', {
      cause: err,
      detail: { reason: 'zstd-unavailable' },
    });
    throw zstdLib;
  }
}

/** Is zstd decompression available here? */
export function zstdAvailable(): boolean {
  try {
    loadZstd();
    return true;
  } catch {
    return false;
  }
}

const ZSTD_OUT = 128 * 1024; // ZSTD_DStreamOutSize()

async function* unzstd(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const z = loadZstd();
  const ctx = z.createDCtx();
  if (!ctx) throw new TsdError('UNAVAILABLE', 'ZSTD_createDCtx failed');
  let last = 0; // the last return value: 0 when a frame was completely decoded and flushed
  let any = false;
  try {
    for await (const chunk of source) {
      any = true;
      let srcPos = 0;
      // Loop until the input is consumed and the output buffer was not filled (nothing left to flush).
      for (;;) {
        const dst = Buffer.allocUnsafe(ZSTD_OUT);
        const [ret, dstPos, newSrcPos] = await z.step(ctx, dst, chunk, srcPos);
        if (z.isError(ret)) throw corrupt('zstd', new Error(z.errorName(ret)));
        last = ret;
        srcPos = newSrcPos;
        if (dstPos > 0) yield dst.subarray(0, dstPos);
        if (srcPos >= chunk.length && dstPos < dst.length) break;
      }
    }
    if (!any) throw corrupt('zstd', new Error('empty stream'));
    if (last !== 0) throw corrupt('zstd', new Error('the last frame is incomplete'));
  } finally {
    z.freeDCtx(ctx);
  }
}
