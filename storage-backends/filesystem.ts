import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs';
import { lstat, mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { mapLimit } from '../shared/concurrency.js';
import { checkPath, notFound, writeBlock, type FileInfo, type FileWriter, type StorageBackend } from './backend.js';

/** Bigger reads than Node's 64 KiB default: the main lever for large-blob GET throughput. */
const readChunkBytes = 1024 * 1024;
/** Writes are gathered to this size before a writev, so a socket's 64 KiB chunks cost fewer syscalls. */
const writeBatchBytes = 1024 * 1024;

/**
 * Names of files and directories being written or deleted. They start with `.`, which no
 * repository name component, tag or digest can, so listings skip them safely.
 */
function temporaryName(): string {
  return `.tmp-${randomBytes(8).toString('hex')}`;
}

function isTemporary(name: string): boolean {
  return name.startsWith('.tmp-');
}

function isENOENT(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Bytes under a root directory: temp file + fsync + rename for atomic replacement. */
export class FilesystemBackend implements StorageBackend {
  readonly name = 'filesystem';

  constructor(readonly rootDirectory: string) {}

  private full(path: string): string {
    return join(this.rootDirectory, checkPath(path));
  }

  async getContent(path: string): Promise<Buffer> {
    try {
      // The callback readFile: far less per-call overhead than the FileHandle-based promise one,
      // which matters for the small link files read on every request.
      return await new Promise<Buffer>((resolve, reject) => readFile(this.full(path), (err, data) => (err ? reject(err) : resolve(data))));
    } catch (err) {
      if (isENOENT(err) || (err as { code?: string }).code === 'EISDIR') throw notFound(path, err);
      throw err;
    }
  }

  /**
   * Atomic in two ways: the file is replaced by a rename, and a directory the write creates
   * appears together with the file (the new subtree is built beside it and renamed into place),
   * so a crash never leaves a directory without its content (a listed tag with no link).
   */
  async putContent(path: string, data: Uint8Array): Promise<void> {
    // A concurrent delete may take the directory away mid-write (a tag deleted while it is
    // re-pushed): start again, a few times, rather than fail the request.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.putContentOnce(path, data);
      } catch (err) {
        if (!isENOENT(err) || attempt >= 5) throw err;
      }
    }
  }

  private async putContentOnce(path: string, data: Uint8Array): Promise<void> {
    const target = this.full(path);
    const missing = await this.highestMissingDirectory(dirname(target));
    if (missing !== undefined) {
      const staging = join(dirname(missing), temporaryName());
      const staged = join(staging, target.slice(missing.length));
      await mkdir(dirname(staged), { recursive: true });
      await writeDurably(staged, data);
      try {
        await rename(staging, missing);
        await syncDirectory(dirname(missing));
        return;
      } catch (err) {
        await rm(staging, { recursive: true, force: true });
        const code = (err as { code?: string }).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
        // Another writer created the directory first: write into it as usual.
      }
    }
    await mkdir(dirname(target), { recursive: true });
    const temp = join(dirname(target), temporaryName());
    await writeDurably(temp, data);
    try {
      await rename(temp, target);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  /** The highest ancestor of `dir` (below the root) that does not exist, if any. */
  private async highestMissingDirectory(dir: string): Promise<string | undefined> {
    let missing: string | undefined;
    for (let d = dir; d.length > this.rootDirectory.length; d = dirname(d)) {
      try {
        await stat(d);
        return missing;
      } catch (err) {
        if (!isENOENT(err)) throw err;
        missing = d;
      }
    }
    await mkdir(this.rootDirectory, { recursive: true });
    return missing;
  }

  async reader(path: string, options: { offset?: number; length?: number; signal?: AbortSignal } = {}): Promise<Readable> {
    const full = this.full(path);
    let handle: FileHandle;
    try {
      handle = await open(full, 'r');
    } catch (err) {
      if (isENOENT(err)) throw notFound(path, err);
      throw err;
    }
    const start = options.offset ?? 0;
    const end = options.length === undefined ? undefined : start + options.length - 1;
    if (end !== undefined && end < start) {
      await handle.close();
      const { Readable } = await import('node:stream');
      return Readable.from([]);
    }
    // Large reads make large blobs fast; a small file gets a buffer of its own size, not 1 MiB.
    const wanted = options.length ?? (await handle.stat()).size - start;
    const highWaterMark = Math.max(16 * 1024, Math.min(readChunkBytes, wanted));
    // An already aborted signal would give a stream that destroys itself with no one listening yet.
    if (options.signal?.aborted) {
      await handle.close();
      options.signal.throwIfAborted();
    }
    return handle.createReadStream({ start, end, highWaterMark, signal: options.signal });
  }

  /**
   * Large reads through two buffers that are reused: read the next block while the previous one is
   * being written, and never allocate per block (a fresh 1 MiB buffer per read put the GC at a
   * quarter of the CPU of a large GET).
   */
  async copyTo(path: string, destination: Writable, options: { offset?: number; length?: number } = {}): Promise<void> {
    let handle: FileHandle;
    try {
      handle = await open(this.full(path), 'r');
    } catch (err) {
      if (isENOENT(err)) throw notFound(path, err);
      throw err;
    }
    try {
      let position = options.offset ?? 0;
      let left = options.length ?? Math.max(0, (await handle.stat()).size - position);
      const blockSize = Math.max(1, Math.min(readChunkBytes, left));
      const blocks = [Buffer.allocUnsafe(blockSize), Buffer.allocUnsafe(blockSize)];
      let writing: Promise<void> | undefined;
      let writeError: unknown;
      for (let i = 0; left > 0; i ^= 1) {
        const block = blocks[i]!;
        const { bytesRead } = await handle.read(block, 0, Math.min(block.length, left), position);
        if (bytesRead === 0) throw new Error(`${path} ended ${left} bytes early`);
        position += bytesRead;
        left -= bytesRead;
        await writing;
        if (writeError !== undefined) throw writeError;
        // Observed at once, so a client that goes away during the next read is an error of this
        // call, not an unhandled rejection.
        writing = writeBlock(destination, block.subarray(0, bytesRead)).catch((err: unknown) => {
          writeError = err;
        });
      }
      await writing;
      if (writeError !== undefined) throw writeError;
    } finally {
      await handle.close();
    }
  }

  async writer(path: string, options: { append?: boolean } = {}): Promise<FileWriter> {
    const full = this.full(path);
    await mkdir(dirname(full), { recursive: true });
    const handle = await open(full, options.append ? 'a' : 'w', 0o644);
    const existing = options.append ? (await handle.stat()).size : 0;
    return new FilesystemWriter(handle, full, existing);
  }

  async stat(path: string): Promise<FileInfo> {
    try {
      const s = await stat(this.full(path));
      return { path, size: s.size, modifiedAt: s.mtime, isDir: s.isDirectory() };
    } catch (err) {
      if (isENOENT(err)) throw notFound(path, err);
      throw err;
    }
  }

  async list(path: string): Promise<string[]> {
    try {
      const names = await readdir(this.full(path));
      return names.filter((n) => !isTemporary(n)).map((n) => `${path}/${n}`);
    } catch (err) {
      if (isENOENT(err)) throw notFound(path, err);
      throw err;
    }
  }

  /** Breadth first, a level's directories read and its files stat'ed 16 at a time. */
  async *walk(path: string): AsyncIterable<FileInfo> {
    let directories = [path];
    while (directories.length > 0) {
      const deeper: string[] = [];
      const files: string[] = [];
      await mapLimit(directories, 16, async (dir) => {
        let entries;
        try {
          entries = await readdir(this.full(dir), { withFileTypes: true });
        } catch (err) {
          if (isENOENT(err)) return;
          throw err;
        }
        for (const entry of entries) {
          if (isTemporary(entry.name)) continue;
          if (entry.isDirectory()) deeper.push(`${dir}/${entry.name}`);
          else if (entry.isFile()) files.push(`${dir}/${entry.name}`);
        }
      });
      const infos = await mapLimit(files, 16, async (file): Promise<FileInfo | undefined> => {
        try {
          const st = await stat(this.full(file));
          return { path: file, size: st.size, modifiedAt: st.mtime, isDir: false };
        } catch (err) {
          if (isENOENT(err)) return undefined;
          throw err;
        }
      });
      for (const info of infos) if (info) yield info;
      directories = deeper;
    }
  }

  async sweepTemporaries(maxAgeMs: number, options: { dryRun?: boolean } = {}): Promise<string[]> {
    const cutoff = Date.now() - maxAgeMs;
    const swept: string[] = [];
    let directories = [''];
    while (directories.length > 0) {
      const deeper: string[] = [];
      await mapLimit(directories, 16, async (dir) => {
        let entries;
        try {
          entries = await readdir(dir === '' ? this.rootDirectory : this.full(dir), { withFileTypes: true });
        } catch (err) {
          if (isENOENT(err)) return;
          throw err;
        }
        for (const entry of entries) {
          const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
          if (!isTemporary(entry.name)) {
            if (entry.isDirectory()) deeper.push(path);
            continue;
          }
          // A young one may be a write or delete in progress.
          const mtime = await lstat(this.full(path)).then((s) => s.mtimeMs, () => Number.POSITIVE_INFINITY);
          if (mtime >= cutoff) continue;
          swept.push(path);
          if (!options.dryRun) await rm(this.full(path), { recursive: true, force: true });
        }
      });
      directories = deeper;
    }
    return swept.sort();
  }

  async move(from: string, to: string, options: { durable?: boolean } = {}): Promise<void> {
    const target = this.full(to);
    await mkdir(dirname(target), { recursive: true });
    try {
      await rename(this.full(from), target);
    } catch (err) {
      if (isENOENT(err)) throw notFound(from, err);
      throw err;
    }
    if (options.durable !== false) await syncDirectory(dirname(target));
  }

  /** A directory is renamed aside first, so it disappears at once rather than file by file. */
  async delete(path: string): Promise<void> {
    const full = this.full(path);
    let info;
    try {
      info = await stat(full);
    } catch (err) {
      if (isENOENT(err)) throw notFound(path, err);
      throw err;
    }
    if (!info.isDirectory()) {
      await rm(full, { force: true });
      return;
    }
    const aside = join(dirname(full), temporaryName());
    try {
      await rename(full, aside);
    } catch (err) {
      if (isENOENT(err)) throw notFound(path, err);
      throw err;
    }
    await rm(aside, { recursive: true, force: true });
  }

}

async function writeDurably(file: string, data: Uint8Array): Promise<void> {
  const handle = await open(file, 'w', 0o644);
  try {
    await handle.writeFile(data);
    await handle.datasync();
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(file, { force: true });
    throw err;
  }
  await handle.close();
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

class FilesystemWriter implements FileWriter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private closed = false;
  size: number;

  constructor(
    private readonly handle: FileHandle,
    private readonly fullPath: string,
    private readonly initialSize: number,
  ) {
    this.size = initialSize;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.closed) throw new Error('write after close');
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    this.size += chunk.length;
    if (this.pendingBytes >= writeBatchBytes) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const buffers = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    let remaining = buffers.reduce((n, b) => n + b.length, 0);
    let views: Uint8Array[] = buffers;
    // writev may write less than asked; continue from where it stopped.
    while (remaining > 0) {
      const { bytesWritten } = await this.handle.writev(views);
      remaining -= bytesWritten;
      if (remaining > 0) views = skipBytes(views, bytesWritten);
    }
  }

  async commit(): Promise<void> {
    await this.flush();
    await this.handle.datasync();
    await this.release();
  }

  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.release();
    }
  }

  async cancel(): Promise<void> {
    this.pending = [];
    this.pendingBytes = 0;
    await this.release();
    await rm(this.fullPath, { force: true });
  }

  async abandon(): Promise<void> {
    if (this.closed) return;
    this.pending = [];
    this.pendingBytes = 0;
    try {
      await this.handle.truncate(this.initialSize);
    } finally {
      await this.release();
    }
  }

  private async release(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

function skipBytes(views: Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const v of views) {
    if (n >= v.length) {
      n -= v.length;
      continue;
    }
    out.push(n > 0 ? v.subarray(n) : v);
    n = 0;
  }
  return out;
}
