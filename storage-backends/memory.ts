import { addAbortSignal, Readable } from 'node:stream';
import { checkPath, notFound, type FileInfo, type FileWriter, type StorageBackend } from './backend.js';

interface Entry {
  data: Buffer;
  modifiedAt: Date;
}

/** Bytes in a Map, for unit tests. Directories exist implicitly while something lies below them. */
export class MemoryBackend implements StorageBackend {
  readonly name = 'memory';
  private readonly files = new Map<string, Entry>();

  async getContent(path: string): Promise<Buffer> {
    const e = this.files.get(checkPath(path));
    if (!e) throw notFound(path);
    return Buffer.from(e.data);
  }

  async putContent(path: string, data: Uint8Array): Promise<void> {
    this.files.set(checkPath(path), { data: Buffer.from(data), modifiedAt: new Date() });
  }

  async reader(path: string, options: { offset?: number; length?: number; signal?: AbortSignal } = {}): Promise<Readable> {
    const e = this.files.get(checkPath(path));
    if (!e) throw notFound(path);
    options.signal?.throwIfAborted();
    const start = Math.min(options.offset ?? 0, e.data.length);
    const end = options.length === undefined ? e.data.length : Math.min(e.data.length, start + options.length);
    const stream = Readable.from([e.data.subarray(start, end)].filter((b) => b.length > 0));
    return options.signal ? addAbortSignal(options.signal, stream) : stream;
  }

  async writer(path: string, options: { append?: boolean } = {}): Promise<FileWriter> {
    const key = checkPath(path);
    const previous = options.append ? this.files.get(key)?.data : undefined;
    const chunks: Buffer[] = previous ? [previous] : [];
    const store = () => this.files.set(key, { data: Buffer.concat(chunks), modifiedAt: new Date() });
    store();
    let size = previous?.length ?? 0;
    let closed = false;
    const files = this.files;
    return {
      get size() {
        return size;
      },
      async write(chunk) {
        if (closed) throw new Error('write after close');
        chunks.push(Buffer.from(chunk));
        size += chunk.length;
      },
      async commit() {
        closed = true;
        store();
      },
      async close() {
        closed = true;
        store();
      },
      async cancel() {
        closed = true;
        files.delete(key);
      },
      async abandon() {
        closed = true;
        files.set(key, { data: previous ?? Buffer.alloc(0), modifiedAt: new Date() });
      },
    };
  }

  async stat(path: string): Promise<FileInfo> {
    const key = checkPath(path);
    const e = this.files.get(key);
    if (e) return { path, size: e.data.length, modifiedAt: e.modifiedAt, isDir: false };
    const prefix = `${key}/`;
    let newest: Date | undefined;
    for (const [k, v] of this.files) if (k.startsWith(prefix) && (!newest || v.modifiedAt > newest)) newest = v.modifiedAt;
    if (!newest) throw notFound(path);
    return { path, size: 0, modifiedAt: newest, isDir: true };
  }

  async list(path: string): Promise<string[]> {
    const prefix = `${checkPath(path)}/`;
    const children = new Set<string>();
    for (const k of this.files.keys()) {
      if (k.startsWith(prefix)) children.add(`${prefix}${k.slice(prefix.length).split('/', 1)[0]}`);
    }
    if (children.size === 0) throw notFound(path);
    return [...children];
  }

  async *walk(path: string): AsyncIterable<FileInfo> {
    const prefix = `${checkPath(path)}/`;
    for (const [k, v] of [...this.files]) {
      if (k.startsWith(prefix)) yield { path: k, size: v.data.length, modifiedAt: v.modifiedAt, isDir: false };
    }
  }

  async move(from: string, to: string): Promise<void> {
    const e = this.files.get(checkPath(from));
    if (!e) throw notFound(from);
    this.files.delete(from);
    this.files.set(checkPath(to), e);
  }

  async delete(path: string): Promise<void> {
    const key = checkPath(path);
    const prefix = `${key}/`;
    let found = this.files.delete(key);
    for (const k of [...this.files.keys()]) {
      if (k.startsWith(prefix)) {
        this.files.delete(k);
        found = true;
      }
    }
    if (!found) throw notFound(path);
  }
}
