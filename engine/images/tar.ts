/**
 * The small tar codec the image archives need (docker save/load, OCI layout tarballs): a pull-style
 * reader of ustar + POSIX PAX (`x`; `g` ignored) + GNU long names (`L`, `K`), and a writer of
 * ustar entries with a PAX record when a name does not fit. Archive entry names never become
 * filesystem paths here: the reader only reports them, callers validate them.
 */
import type { Writable } from 'node:stream';
import { TsdError } from '../../shared/errors.js';

const BLOCK = 512;
/** PAX / GNU long-name bodies are metadata: bounded. */
const maxMetaSize = 1024 * 1024;

export type TarEntryType = 'file' | 'dir' | 'symlink' | 'link' | 'other';

export interface TarHeader {
  name: string;
  type: TarEntryType;
  linkname: string;
  size: number;
  mode: number;
}

function bad(message: string): TsdError {
  return new TsdError('INVALID_ARGUMENT', `archive is not a valid tar: ${message}`, { detail: { reason: 'tar-invalid' } });
}

function cstring(b: Buffer, start: number, end: number): string {
  let e = start;
  while (e < end && b[e] !== 0) e++;
  return b.toString('utf8', start, e);
}

function octal(b: Buffer, start: number, end: number, field: string): number {
  if (b[start]! & 0x80) {
    let v = 0n;
    for (let i = start; i < end; i++) v = (v << 8n) | BigInt(i === start ? b[i]! & 0x7f : b[i]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`${field} is too large`);
    return Number(v);
  }
  const s = cstring(b, start, end).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw bad(`${field} is not an octal number`);
  const v = parseInt(s, 8);
  if (!Number.isSafeInteger(v)) throw bad(`${field} is too large`);
  return v;
}

function checksumOf(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i]!;
  return sum;
}

/** Reads exact byte counts from an async source of chunks. */
class ByteSource {
  private buffered: Buffer[] = [];
  private available = 0;
  private ended = false;
  private readonly it: AsyncIterator<Uint8Array>;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<boolean> {
    while (this.available < n && !this.ended) {
      const next = await this.it.next();
      if (next.done) {
        this.ended = true;
        break;
      }
      const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
      if (chunk.length === 0) continue;
      this.buffered.push(chunk);
      this.available += chunk.length;
    }
    return this.available >= n;
  }

  /** Up to `max` bytes (at least one), or undefined at the end. */
  private async some(max: number): Promise<Buffer | undefined> {
    if (!(await this.fill(1))) return undefined;
    const head = this.buffered[0]!;
    if (head.length <= max) {
      this.buffered.shift();
      this.available -= head.length;
      return head;
    }
    this.buffered[0] = head.subarray(max);
    this.available -= max;
    return head.subarray(0, max);
  }

  /** Exactly n bytes; undefined when the source ends first (or, with `partialIsError`, an error). */
  async exact(n: number): Promise<Buffer | undefined> {
    if (!(await this.fill(n))) {
      if (this.available === 0) return undefined;
      throw bad('unexpected end of archive');
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const part = (await this.some(n - off))!;
      part.copy(out, off);
      off += part.length;
    }
    return out;
  }

  async *stream(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      const part = await this.some(left);
      if (!part) throw bad('unexpected end of archive');
      left -= part.length;
      yield part;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.stream(n)) {
      /* discard */
    }
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}

function parsePax(body: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    if (space < 0) throw bad('bad PAX record');
    const len = parseInt(body.toString('ascii', pos, space), 10);
    if (!Number.isSafeInteger(len) || len <= space - pos || pos + len > body.length) throw bad('bad PAX record length');
    const record = body.toString('utf8', space + 1, pos + len - 1);
    const eq = record.indexOf('=');
    if (eq < 0) throw bad('bad PAX record');
    out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}

/**
 * Iterate a tar archive. For each entry the callback gets the header and the body as an async
 * iterable (consume it or not; what is left is skipped). Ends at the end-of-archive blocks or at
 * the end of the input.
 */
export async function readTar(
  source: AsyncIterable<Uint8Array>,
  onEntry: (header: TarHeader, body: AsyncIterable<Buffer>) => Promise<void>,
): Promise<void> {
  const src = new ByteSource(source);
  try {
    let pax = new Map<string, string>();
    let longName: string | undefined;
    let longLink: string | undefined;
    for (;;) {
      const block = await src.exact(BLOCK);
      if (!block) return;
      if (block.every((b) => b === 0)) return; // end-of-archive marker (the rest is padding)
      if (octal(block, 148, 156, 'checksum') !== checksumOf(block)) throw bad('header checksum mismatch');
      const flag = String.fromCharCode(block[156]!);
      let size = octal(block, 124, 136, 'size');
      const padded = Math.ceil(size / BLOCK) * BLOCK;
      if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
        if (size > maxMetaSize) throw bad('metadata record too large');
        const body = (await src.exact(padded)) ?? Buffer.alloc(0);
        if (body.length < padded) throw bad('unexpected end of archive');
        const data = body.subarray(0, size);
        if (flag === 'x') pax = parsePax(data);
        else if (flag === 'L') longName = cstring(data, 0, data.length);
        else if (flag === 'K') longLink = cstring(data, 0, data.length);
        continue;
      }
      let name = cstring(block, 0, 100);
      const magic = block.toString('ascii', 257, 262);
      if (magic === 'ustar') {
        const prefix = cstring(block, 345, 500);
        if (prefix) name = `${prefix}/${name}`;
      }
      if (longName !== undefined) name = longName;
      if (pax.has('path')) name = pax.get('path')!;
      let linkname = longLink ?? cstring(block, 157, 257);
      if (pax.has('linkpath')) linkname = pax.get('linkpath')!;
      if (pax.has('size')) {
        const s = Number(pax.get('size'));
        if (!Number.isSafeInteger(s) || s < 0) throw bad('bad PAX size');
        size = s;
      }
      pax = new Map();
      longName = undefined;
      longLink = undefined;
      const type: TarEntryType =
        flag === '0' || flag === '\0' || flag === '7'
          ? 'file'
          : flag === '5'
            ? 'dir'
            : flag === '2'
              ? 'symlink'
              : flag === '1'
                ? 'link'
                : 'other';
      const bodySize = type === 'file' ? size : type === 'dir' || type === 'symlink' || type === 'link' ? 0 : size;
      const header: TarHeader = { name, type, linkname, size: bodySize, mode: octal(block, 100, 108, 'mode') };
      let consumed = 0;
      const body = {
        [Symbol.asyncIterator]: async function* () {
          for await (const chunk of src.stream(bodySize - consumed)) {
            consumed += chunk.length;
            yield chunk;
          }
        },
      };
      await onEntry(header, body);
      const dataPadded = Math.ceil(size / BLOCK) * BLOCK;
      await src.skip(dataPadded - consumed);
    }
  } finally {
    await src.close();
  }
}

/** Writes a tar stream into a Writable, respecting back-pressure. */
export class TarWriter {
  private readonly mtime = Math.floor(Date.now() / 1000);

  constructor(private readonly out: Writable) {}

  private write(chunk: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.out.once('error', onError);
      const ok = this.out.write(chunk, (err) => {
        if (err) {
          this.out.off('error', onError);
          reject(err);
        }
      });
      const done = () => {
        this.out.off('error', onError);
        resolve();
      };
      if (ok) done();
      else this.out.once('drain', done);
    });
  }

  private header(name: string, type: '0' | '5' | 'x', size: number, mode: number): Buffer {
    const b = Buffer.alloc(BLOCK);
    b.write(name, 0, 100, 'utf8');
    b.write(`${mode.toString(8).padStart(7, '0')}\0`, 100, 'ascii');
    b.write('0000000\0', 108, 'ascii');
    b.write('0000000\0', 116, 'ascii');
    b.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
    b.write(`${this.mtime.toString(8).padStart(11, '0')}\0`, 136, 'ascii');
    b.write(type, 156, 'ascii');
    b.write('ustar\0', 257, 'ascii');
    b.write('00', 263, 'ascii');
    b.write(`${checksumOf(b).toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    return b;
  }

  private async entryHeader(name: string, type: '0' | '5', size: number, mode: number): Promise<void> {
    if (Buffer.byteLength(name) > 99 || size > 0o77777777777) {
      const records = [`path=${name}`, `size=${size}`].map((kv) => {
        // "<len> <kv>\n" where len counts itself.
        let len = Buffer.byteLength(kv) + 3;
        while (String(len).length + Buffer.byteLength(kv) + 2 !== len) len = String(len).length + Buffer.byteLength(kv) + 2;
        return `${len} ${kv}\n`;
      });
      const body = Buffer.from(records.join(''));
      await this.write(this.header('PaxHeader', 'x', body.length, 0o644));
      await this.write(pad(body));
      await this.write(this.header(name.slice(0, 99), type, size > 0o77777777777 ? 0 : size, mode));
    } else {
      await this.write(this.header(name, type, size, mode));
    }
  }

  async directory(name: string): Promise<void> {
    await this.entryHeader(name.endsWith('/') ? name : `${name}/`, '5', 0, 0o755);
  }

  /** A file whose body comes from `body` and must be exactly `size` bytes. */
  async file(name: string, size: number, body: Buffer | AsyncIterable<Uint8Array>): Promise<void> {
    await this.entryHeader(name, '0', size, 0o644);
    let written = 0;
    const chunks: AsyncIterable<Uint8Array> | Buffer[] = Buffer.isBuffer(body) ? [body] : body;
    for await (const c of chunks) {
      const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c);
      written += chunk.length;
      if (written > size) throw new TsdError('SIZE_INVALID', `${name}: more than the declared ${size} bytes`);
      await this.write(chunk);
    }
    if (written !== size) throw new TsdError('SIZE_INVALID', `${name}: ${written} bytes, expected ${size}`);
    const rest = (BLOCK - (size % BLOCK)) % BLOCK;
    if (rest) await this.write(Buffer.alloc(rest));
  }

  /** The two zero blocks that end an archive. */
  async finish(): Promise<void> {
    await this.write(Buffer.alloc(BLOCK * 2));
  }
}

function pad(b: Buffer): Buffer {
  const rest = (BLOCK - (b.length % BLOCK)) % BLOCK;
  return rest ? Buffer.concat([b, Buffer.alloc(rest)]) : b;
}
