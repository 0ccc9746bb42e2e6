/**
 * docker's json-file log driver: one JSON object per line,
 * `{"log":"text\n","stream":"stdout","time":"2024-01-02T03:04:05.123456789Z"}`. Output is split at
 * newlines; a line longer than 16 KiB is written in pieces without "\n" (docker's partial lines),
 * and whatever is pending when the container exits is written as it is. With `maxSize` the file
 * rotates: `<file>` -> `<file>.1` -> ... -> `<file>.<maxFile-1>` (maxFile 1: truncated instead).
 *
 * Writes are synchronous: the shim is the only writer and the order of lines must be kept.
 */
import { closeSync, createReadStream, existsSync, fstatSync, ftruncateSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';

const MAX_LINE = 16 * 1024;

export type LogStream = 'stdout' | 'stderr';

export interface JsonLogEntry {
  log: string;
  stream: LogStream;
  time: string;
}

export interface JsonLogOptions {
  maxSize?: number;
  maxFile?: number;
}

/** RFC 3339 with nanoseconds, trailing zeros trimmed (Go's time.RFC3339Nano). */
export function rfc3339Nano(epochNs: bigint): string {
  const ms = epochNs / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2024-01-02T03:04:05.123Z
  const frac = (epochNs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${iso.slice(0, 19)}${frac ? `.${frac}` : ''}Z`;
}

const originNs = BigInt(Math.round(performance.timeOrigin * 1e6));

/** Now, in nanoseconds since the epoch (microsecond resolution). */
export function nowNs(): bigint {
  return originNs + BigInt(Math.round(performance.now() * 1e6));
}

export class JsonFileLog {
  private fd: number;
  private size: number;
  private readonly pending: Record<LogStream, Buffer[]> = { stdout: [], stderr: [] };
  private readonly pendingLength: Record<LogStream, number> = { stdout: 0, stderr: 0 };

  constructor(readonly path: string, private readonly options: JsonLogOptions = {}) {
    this.fd = openSync(path, 'a', 0o640);
    this.size = fstatSync(this.fd).size;
  }

  /** Output of the container: complete lines are logged now, the rest waits for its newline. */
  write(stream: LogStream, chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl < 0 ? chunk.length : nl + 1;
      const take = Math.min(end - start, MAX_LINE - this.pendingLength[stream]);
      this.pending[stream].push(chunk.subarray(start, start + take));
      this.pendingLength[stream] += take;
      start += take;
      if (start === end && nl >= 0) this.flushStream(stream);
      else if (this.pendingLength[stream] >= MAX_LINE) this.flushStream(stream);
    }
  }

  /** Log what is pending (the container has exited). */
  flush(): void {
    this.flushStream('stdout');
    this.flushStream('stderr');
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }

  private flushStream(stream: LogStream): void {
    if (this.pendingLength[stream] === 0) return;
    this.emit(stream, Buffer.concat(this.pending[stream]));
    this.pending[stream] = [];
    this.pendingLength[stream] = 0;
  }

  private emit(stream: LogStream, data: Buffer): void {
    const entry: JsonLogEntry = { log: data.toString('utf8'), stream, time: rfc3339Nano(nowNs()) };
    const line = Buffer.from(`${JSON.stringify(entry)}\n`);
    if (this.options.maxSize !== undefined && this.size > 0 && this.size + line.length > this.options.maxSize) this.rotate();
    writeSync(this.fd, line);
    this.size += line.length;
  }

  private rotate(): void {
    const maxFile = this.options.maxFile ?? 1;
    if (maxFile <= 1) {
      ftruncateSync(this.fd, 0);
      this.size = 0;
      return;
    }
    closeSync(this.fd);
    rmSync(`${this.path}.${maxFile - 1}`, { force: true });
    for (let i = maxFile - 2; i >= 1; i--) if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    renameSync(this.path, `${this.path}.1`);
    this.fd = openSync(this.path, 'a', 0o640);
    this.size = 0;
  }
}

/** Every entry of a json-file log, oldest rotated file first (what `docker logs` reads). */
export async function* readJsonLog(path: string, maxFile = 1): AsyncGenerator<JsonLogEntry> {
  const files: string[] = [];
  for (let i = maxFile - 1; i >= 1; i--) if (existsSync(`${path}.${i}`)) files.push(`${path}.${i}`);
  if (existsSync(path)) files.push(path);
  for (const file of files) {
    const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    for await (const line of lines) if (line) yield JSON.parse(line) as JsonLogEntry;
  }
}
