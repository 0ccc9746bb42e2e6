/**
 * applyLayer: decompress a layer blob, hash the uncompressed tar (the DiffID), and apply its
 * entries onto a directory, every write confined to it. On a DiffID mismatch the directory holds
 * the (untrusted) content and the caller must discard it: the error is DIGEST_INVALID.
 *
 * This runs on whatever thread calls it. Filesystem calls are synchronous (fd-relative syscalls
 * through koffi), in slices of one input chunk at a time; gzip and zstd decompression run on
 * libuv's threadpool. To keep the event loop free and use several cores for a pull, call it
 * through UnpackPool (pool.ts), which runs each layer in a worker thread.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { algorithmOf, Digester, type Digest } from '../../shared/digest.js';
import { TsdError } from '../../shared/errors.js';
import { compressionOf, decompress } from './decompress.js';
import { TarReader } from './tar.js';
import { LayerWriter, type WriterOptions } from './writer.js';

/** A file path, a stream or async iterable of chunks, or the whole blob in memory. */
export type LayerSource = AsyncIterable<Uint8Array> | Readable | Uint8Array | string;

export interface ApplyOptions extends WriterOptions {
  /** The layer's media type (decides the decompression). */
  mediaType: string;
  /** The DiffID from the image config's rootfs.diff_ids; checked after the last byte. */
  expectedDiffId?: Digest;
  signal?: AbortSignal;
  /** Upper bound of a PAX header or GNU long name body (default 1 MiB). */
  maxMetaSize?: number;
}

export interface ApplyResult {
  /** Digest of the uncompressed tar stream. */
  diffId: Digest;
  /** Size of the uncompressed tar stream. */
  size: number;
  entries: number;
  /** Things skipped without failing (xattrs the filesystem refused, overlay xattrs in the layer). */
  warnings: string[];
  resolver: 'openat2' | 'walk';
}

function toIterable(source: LayerSource): AsyncIterable<Uint8Array> {
  if (typeof source === 'string') return createReadStream(source, { highWaterMark: 1 << 20 });
  if (source instanceof Uint8Array) {
    const blob = source;
    return (async function* () {
      for (let i = 0; i < blob.length; i += 1 << 20) yield blob.subarray(i, i + (1 << 20));
    })();
  }
  return source;
}

export async function applyLayer(root: string, layer: LayerSource, options: ApplyOptions): Promise<ApplyResult> {
  const { signal } = options;
  signal?.throwIfAborted();
  const kind = compressionOf(options.mediaType);
  const digester = new Digester(options.expectedDiffId ? algorithmOf(options.expectedDiffId) : 'sha256');
  const writer = new LayerWriter(root, options);
  const reader = new TarReader(writer, { maxMetaSize: options.maxMetaSize ?? 1 << 20 });
  try {
    for await (const chunk of decompress(toIterable(layer), kind)) {
      signal?.throwIfAborted();
      digester.update(chunk);
      // After the end-of-archive marker the rest (padding) is hashed but not parsed.
      if (!reader.ended) reader.push(chunk);
    }
    signal?.throwIfAborted();
    reader.finish();
    writer.finish();
    const diffId = digester.digest();
    if (options.expectedDiffId !== undefined && diffId !== options.expectedDiffId) {
      throw new TsdError('DIGEST_INVALID', `layer DiffID ${diffId} does not match the expected ${options.expectedDiffId}; discard the directory`, {
        detail: { expected: options.expectedDiffId, actual: diffId },
      });
    }
    return { diffId, size: digester.size, entries: writer.entryCount, warnings: writer.warnings, resolver: writer.root.activeResolver };
  } catch (err) {
    // A failed syscall (ENOSPC, EACCES, ...) gets the entry count for context; TsdErrors and aborts pass as they are.
    if (!(err instanceof TsdError) && typeof (err as { errno?: unknown }).errno === 'number') {
      throw new TsdError('UNKNOWN', `applying the layer failed at entry ${writer.entryCount}: ${(err as Error).message}`, { cause: err, detail: { reason: 'io', code: (err as { code?: string }).code } });
    }
    throw err;
  } finally {
    writer.close();
  }
}
