/**
 * A push-style, synchronous tar reader: ustar, POSIX PAX (`x` records; `g` is read and ignored),
 * GNU long names/link names (`L`, `K`) and base-256 numbers. It never buffers file bodies: data
 * is handed to the sink as sub-arrays of the pushed chunk. Metadata bodies (PAX, long names) are
 * bounded by `maxMetaSize`.
 */
import { TsdError } from '../../shared/errors.js';

export type EntryType = 'file' | 'dir' | 'symlink' | 'link' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  name: string;
  type: EntryType;
  linkname: string;
  mode: number; // permission bits incl. setuid/setgid/sticky (07777)
  uid: number;
  gid: number;
  size: number;
  mtime: number; // seconds, may be fractional (PAX)
  atime: number | undefined;
  devmajor: number;
  devminor: number;
  xattrs: Map<string, Buffer>;
}

export interface TarSink {
  entry(e: TarEntry): void;
  data(chunk: Uint8Array): void;
  entryEnd(): void;
}

export interface TarLimits {
  maxMetaSize: number;
}

const BLOCK = 512;

function bad(message: string): TsdError {
  return new TsdError('INVALID_ARGUMENT', `layer is not a valid tar archive: ${message}`, { detail: { reason: 'tar-invalid' } });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes up to the first NUL, as UTF-8 (or Latin-1 when they are not valid UTF-8). */
function cstring(b: Uint8Array, start: number, end: number): string {
  let e = start;
  while (e < end && b[e] !== 0) e++;
  const bytes = b.subarray(start, e);
  try {
    return utf8.decode(bytes);
  } catch {
    return Buffer.from(bytes).toString('latin1');
  }
}

function numeric(b: Uint8Array, start: number, end: number, field: string): number {
  if (b[start]! & 0x80) {
    // base-256: big-endian two's complement with the top bit as a marker
    let v = BigInt(b[start]! & 0x7f);
    const negative = (b[start]! & 0x40) !== 0;
    if (negative) v = v - 0x80n;
    for (let i = start + 1; i < end; i++) v = (v << 8n) | BigInt(b[i]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) throw bad(`${field} out of range`);
    return Number(v);
  }
  let s = '';
  for (let i = start; i < end; i++) {
    const ch = b[i]!;
    if (ch === 0) break;
    s += String.fromCharCode(ch);
  }
  s = s.trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw bad(`${field} is not an octal number`);
  const v = parseInt(s, 8);
  if (!Number.isSafeInteger(v)) throw bad(`${field} out of range`);
  return v;
}

function checksumOk(b: Uint8Array): boolean {
  const stored = numeric(b, 148, 156, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const v = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += v;
    signed += v > 127 ? v - 256 : v;
  }
  return stored === unsigned || stored === signed;
}

function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

interface Pax {
  path?: string;
  linkpath?: string;
  size?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  atime?: number;
  xattrs: Map<string, Buffer>;
}

function parsePax(body: Buffer): Pax {
  const pax: Pax = { xattrs: new Map() };
  let pos = 0;
  while (pos < body.length) {
    if (body[pos] === 0) break; // NUL padding
    const sp = body.indexOf(0x20, pos);
    if (sp < 0 || sp - pos > 20) throw bad('malformed PAX record');
    const len = Number(body.subarray(pos, sp).toString('latin1'));
    if (!Number.isSafeInteger(len) || len <= sp - pos + 1 || pos + len > body.length || body[pos + len - 1] !== 0x0a) {
      throw bad('malformed PAX record length');
    }
    const rec = body.subarray(sp + 1, pos + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw bad('malformed PAX record');
    const key = rec.subarray(0, eq).toString('utf8');
    const raw = rec.subarray(eq + 1);
    const value = raw.toString('utf8');
    const num = (): number => {
      const n = Number(value);
      if (!Number.isFinite(n) || !/^-?[0-9]+(\.[0-9]+)?$/.test(value)) throw bad(`PAX ${key} is not a number`);
      return n;
    };
    switch (key) {
      case 'path': pax.path = value; break;
      case 'linkpath': pax.linkpath = value; break;
      case 'size': pax.size = num(); break;
      case 'uid': pax.uid = num(); break;
      case 'gid': pax.gid = num(); break;
      case 'mtime': pax.mtime = num(); break;
      case 'atime': pax.atime = num(); break;
      default:
        if (key.startsWith('SCHILY.xattr.')) pax.xattrs.set(key.slice('SCHILY.xattr.'.length), Buffer.from(raw));
        else if (key.startsWith('GNU.sparse.')) throw new TsdError('UNSUPPORTED', 'sparse tar entries (GNU.sparse PAX records) are not supported');
      // other keys (uname, gname, ctime, comment, charset, LIBARCHIVE.*) carry nothing we apply
    }
    pos += len;
  }
  return pax;
}

const enum State {
  Header,
  Body,
  Padding,
  Meta,
  ZeroSeen,
  End,
}

export class TarReader {
  private state = State.Header;
  private header = Buffer.alloc(BLOCK);
  private headerFill = 0;
  private remaining = 0; // body bytes left in the current entry (or meta body)
  private padding = 0;
  private metaKind = '';
  private meta: Buffer[] = [];
  private metaSize = 0;
  private pax: Pax | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;
  private inEntry = false;
  entries = 0;

  constructor(private readonly sink: TarSink, private readonly limits: TarLimits = { maxMetaSize: 1 << 20 }) {}

  /** True once the end-of-archive marker has been read (anything after it is ignored). */
  get ended(): boolean {
    return this.state === State.End;
  }

  push(chunk: Uint8Array): void {
    let off = 0;
    while (off < chunk.length) {
      switch (this.state) {
        case State.End:
          return;
        case State.Header:
        case State.ZeroSeen: {
          const n = Math.min(BLOCK - this.headerFill, chunk.length - off);
          this.header.set(chunk.subarray(off, off + n), this.headerFill);
          this.headerFill += n;
          off += n;
          if (this.headerFill === BLOCK) {
            this.headerFill = 0;
            this.onHeader();
          }
          break;
        }
        case State.Body: {
          const n = Math.min(this.remaining, chunk.length - off);
          if (n > 0) this.sink.data(chunk.subarray(off, off + n));
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) this.endBody();
          break;
        }
        case State.Meta: {
          const n = Math.min(this.remaining, chunk.length - off);
          this.meta.push(Buffer.from(chunk.subarray(off, off + n)));
          off += n;
          this.remaining -= n;
          if (this.remaining === 0) this.endMeta();
          break;
        }
        case State.Padding: {
          const n = Math.min(this.padding, chunk.length - off);
          off += n;
          this.padding -= n;
          if (this.padding === 0) this.state = State.Header;
          break;
        }
      }
    }
  }

  /** The input ended: fail unless it ended at an entry boundary. */
  finish(): void {
    if (this.state === State.End) return;
    if ((this.state === State.Header || this.state === State.ZeroSeen) && this.headerFill === 0 && !this.pax && this.longName === undefined && this.longLink === undefined) {
      return; // no end-of-archive marker, but cut at an entry boundary: accepted like Go's archive/tar
    }
    throw bad('unexpected end of data (the layer is truncated)');
  }

  private startPadding(size: number): void {
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    this.state = this.padding > 0 ? State.Padding : State.Header;
  }

  private endBody(): void {
    this.inEntry = false;
    this.sink.entryEnd();
    this.startPadding(this.currentSize);
  }

  private currentSize = 0;

  private endMeta(): void {
    const body = Buffer.concat(this.meta);
    this.meta = [];
    switch (this.metaKind) {
      case 'x':
        this.pax = parsePax(body);
        break;
      case 'g':
        break; // global PAX headers: nothing in them changes how we apply entries
      case 'L':
        this.longName = cstring(body, 0, body.length);
        break;
      case 'K':
        this.longLink = cstring(body, 0, body.length);
        break;
    }
    this.startPadding(this.metaSize);
  }

  private onHeader(): void {
    const h = this.header;
    if (isZeroBlock(h)) {
      if (this.state === State.ZeroSeen) this.state = State.End;
      else this.state = State.ZeroSeen;
      return;
    }
    if (this.state === State.ZeroSeen) throw bad('a single zero block inside the archive');
    if (!checksumOk(h)) throw bad('header checksum mismatch');
    const typeflag = String.fromCharCode(h[156]!);
    const size = numeric(h, 124, 136, 'size');
    if (size < 0) throw bad('negative size');

    if (typeflag === 'x' || typeflag === 'g' || typeflag === 'L' || typeflag === 'K') {
      if (size > this.limits.maxMetaSize) throw bad(`a ${typeflag} header of ${size} bytes is larger than the ${this.limits.maxMetaSize} allowed`);
      this.metaKind = typeflag;
      this.metaSize = size;
      this.remaining = size;
      if (size === 0) this.endMeta();
      else this.state = State.Meta;
      return;
    }

    const magic = h.subarray(257, 265).toString('latin1');
    const posix = magic.startsWith('ustar\0');
    let name = cstring(h, 0, 100);
    if (posix) {
      const prefix = cstring(h, 345, 500);
      if (prefix) name = `${prefix}/${name}`;
    }
    let linkname = cstring(h, 157, 257);
    const pax = this.pax;
    if (this.longName !== undefined) name = this.longName;
    if (this.longLink !== undefined) linkname = this.longLink;
    if (pax?.path !== undefined) name = pax.path;
    if (pax?.linkpath !== undefined) linkname = pax.linkpath;
    this.pax = undefined;
    this.longName = undefined;
    this.longLink = undefined;

    let type: EntryType;
    switch (typeflag) {
      case '0':
      case '\0':
      case '7':
        type = name.endsWith('/') ? 'dir' : 'file';
        break;
      case '1': type = 'link'; break;
      case '2': type = 'symlink'; break;
      case '3': type = 'char'; break;
      case '4': type = 'block'; break;
      case '5': type = 'dir'; break;
      case '6': type = 'fifo'; break;
      default:
        throw new TsdError('UNSUPPORTED', `tar entry type '${typeflag.replace(/[^\x20-\x7e]/g, '?')}' is not supported`, { detail: { reason: 'tar-type', entry: name } });
    }
    // Header-only types carry no data whatever their size field says (as Go's archive/tar reads them).
    const dataSize = type === 'file' ? pax?.size ?? size : 0;
    if (!Number.isSafeInteger(dataSize) || dataSize < 0) throw bad('invalid size');

    const entry: TarEntry = {
      name,
      type,
      linkname,
      mode: numeric(h, 100, 108, 'mode') & 0o7777,
      uid: pax?.uid ?? numeric(h, 108, 116, 'uid'),
      gid: pax?.gid ?? numeric(h, 116, 124, 'gid'),
      size: dataSize,
      mtime: pax?.mtime ?? numeric(h, 136, 148, 'mtime'),
      atime: pax?.atime,
      devmajor: type === 'char' || type === 'block' ? numeric(h, 329, 337, 'devmajor') : 0,
      devminor: type === 'char' || type === 'block' ? numeric(h, 337, 345, 'devminor') : 0,
      xattrs: pax?.xattrs ?? new Map(),
    };
    this.entries++;
    this.inEntry = true;
    this.currentSize = dataSize;
    this.sink.entry(entry);
    if (dataSize === 0) {
      this.inEntry = false;
      this.sink.entryEnd();
      this.state = State.Header;
    } else {
      this.remaining = dataSize;
      this.state = State.Body;
    }
  }

  /** Whether an entry's body is still being read. */
  get midEntry(): boolean {
    return this.inEntry;
  }
}
