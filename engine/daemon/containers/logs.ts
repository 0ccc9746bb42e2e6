/**
 * `docker logs` from a container's json-file log: every entry or the last `tail`, within
 * `since`/`until`, optionally followed while the container runs (the file is polled from the
 * offset read so far; a rotation starts it over).
 */
import { existsSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { JsonLogEntry } from '../../runtime/index.js';

export interface LogQuery {
  /** Nanoseconds since the epoch; 0 = no bound. */
  sinceNs: number;
  untilNs: number;
  /** The last N entries; undefined = all. */
  tail?: number;
  follow: boolean;
  /** Still producing output? (following stops when it is not). */
  running: () => Promise<boolean>;
  signal: AbortSignal;
}

const POLL_MS = 100;

/** RFC 3339 with nanoseconds -> nanoseconds since the epoch. */
export function timeNs(iso: string): number {
  const m = /\.(\d+)Z$/.exec(iso);
  const base = Date.parse(iso.replace(/\.\d+Z$/, 'Z'));
  return base * 1e6 + (m ? Number(m[1]!.padEnd(9, '0').slice(0, 9)) : 0);
}

function parseLines(text: string): JsonLogEntry[] {
  const out: JsonLogEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as JsonLogEntry);
    } catch {
      /* a line being written */
    }
  }
  return out;
}

export async function* readLogs(path: string, maxFile: number, q: LogQuery): AsyncGenerator<JsonLogEntry> {
  const inRange = (e: JsonLogEntry): boolean => {
    const t = timeNs(e.time);
    return (q.sinceNs === 0 || t >= q.sinceNs) && (q.untilNs === 0 || t <= q.untilNs);
  };
  let entries: JsonLogEntry[] = [];
  for (let i = maxFile - 1; i >= 1; i--) if (existsSync(`${path}.${i}`)) entries.push(...parseLines(await readFile(`${path}.${i}`, 'utf8')));
  let offset = 0;
  let pending = '';
  try {
    const data = await readFile(path);
    const cut = data.lastIndexOf(0x0a) + 1;
    offset = cut;
    entries.push(...parseLines(data.subarray(0, cut).toString('utf8')));
  } catch {
    /* no log yet */
  }
  entries = entries.filter(inRange);
  if (q.tail !== undefined) entries = q.tail === 0 ? [] : entries.slice(-q.tail);
  for (const e of entries) yield e;
  if (!q.follow) return;
  let idle = 0;
  while (!q.signal.aborted) {
    let size = 0;
    try {
      size = (await stat(path)).size;
    } catch {
      size = 0;
    }
    if (size < offset) {
      offset = 0;
      pending = '';
    }
    if (size > offset) {
      const fh = await open(path, 'r');
      try {
        const buf = Buffer.alloc(size - offset);
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        offset += bytesRead;
        const text = pending + buf.subarray(0, bytesRead).toString('utf8');
        const cut = text.lastIndexOf('\n') + 1;
        pending = text.slice(cut);
        for (const e of parseLines(text.slice(0, cut))) {
          if (q.untilNs !== 0 && timeNs(e.time) > q.untilNs) return;
          if (inRange(e)) yield e;
        }
      } finally {
        await fh.close();
      }
      idle = 0;
      continue;
    }
    // Not running and nothing new twice in a row: the shim has written everything.
    if (!(await q.running())) {
      if (++idle >= 2) return;
    }
    await sleep(POLL_MS, undefined, { signal: q.signal }).catch(() => {});
  }
}
