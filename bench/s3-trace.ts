/**
 * A preload for our server that records every S3 SDK call and the registry request it served, for
 * finding where an S3-backed row spends its time:
 *
 *   node dist/bench/registry.js --storage s3 --rows 3 \
 *     --node-args "--import ./dist/bench/s3-trace.js"
 *   node dist/bench/s3-trace.js summary .bench-out/s3-trace-PID.jsonl
 *
 * The trace (one JSON object per S3 call) is written to .bench-out/s3-trace-PID.jsonl (or
 * $S3_TRACE_FILE) when the server exits. Bench-side only: nothing in the server changes.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface RequestInfo {
  id: number;
  method: string;
  url: string;
  t0: number;
}

interface TraceLine {
  /** ms since the server started, at the call */
  t: number;
  /** process.hrtime in µs at the call (the clock of --cpu-prof timestamps) */
  hr?: number;
  /** ms until the SDK call resolved (for GetObject: the response head, not the body) */
  ms: number;
  cmd: string;
  key?: string;
  bytes?: number;
  part?: number;
  range?: string;
  status?: number | string;
  req?: { id: number; method: string; path: string };
}

/** One registry request (kind 'req'): its hrtime span in µs, for prof-summary --trace. */
interface RequestLine {
  kind: 'req';
  id: number;
  method: string;
  path: string;
  hr0: number;
  hr1: number;
  status: number;
  /** res.write calls and the bytes they carried (the body's chunks as the server wrote them) */
  writes: number;
  bytesOut: number;
}

const writeCounts = new WeakMap<object, { writes: number; bytes: number }>();

const hrUs = () => Number(process.hrtime.bigint() / 1000n);

function short(url: string): string {
  // /v2/<name>/blobs/uploads/<uuid>?... -> /v2/<name>/blobs/uploads/<uuid>; keep query keys only
  const [path, query] = url.split('?');
  const keys = query ? '?' + query.split('&').map((kv) => kv.split('=')[0]).join('&') : '';
  return path + keys;
}

async function install(): Promise<void> {
  const { S3Client } = await import('@aws-sdk/client-s3');
  const als = new AsyncLocalStorage<RequestInfo>();
  const lines: TraceLine[] = [];
  const requests: RequestLine[] = [];
  const t0 = performance.now();
  let nextId = 1;

  const proto = http.Server.prototype as unknown as { emit: (this: http.Server, event: string | symbol, ...args: unknown[]) => boolean };
  const origEmit = proto.emit;
  proto.emit = function (this: http.Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'request') {
      const req = args[0] as http.IncomingMessage;
      const info: RequestInfo = { id: nextId++, method: req.method ?? '?', url: req.url ?? '', t0: performance.now() };
      const res = args[1] as http.ServerResponse;
      const hr0 = hrUs();
      const counts = { writes: 0, bytes: 0 };
      writeCounts.set(res, counts);
      res.once('close', () =>
        requests.push({ kind: 'req', id: info.id, method: info.method, path: short(info.url), hr0, hr1: hrUs(), status: res.statusCode, writes: counts.writes, bytesOut: counts.bytes }),
      );
      return als.run(info, () => origEmit.call(this, event, ...args));
    }
    return origEmit.call(this, event, ...args);
  };

  const resProto = http.ServerResponse.prototype as unknown as { write: (this: object, chunk: unknown, ...rest: unknown[]) => boolean };
  const origWrite = resProto.write;
  resProto.write = function (this: object, chunk: unknown, ...rest: unknown[]): boolean {
    const c = writeCounts.get(this);
    if (c) {
      c.writes++;
      c.bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : ((chunk as Uint8Array | undefined)?.byteLength ?? 0);
    }
    return origWrite.call(this, chunk, ...rest);
  };

  const origSend = S3Client.prototype.send as (...a: unknown[]) => Promise<unknown>;
  (S3Client.prototype as unknown as { send: unknown }).send = function (this: unknown, command: { constructor: { name: string }; input?: Record<string, unknown> }, ...rest: unknown[]) {
    const start = performance.now();
    const input = command.input ?? {};
    const body = input.Body as { length?: number; byteLength?: number } | undefined;
    const line: TraceLine = {
      t: Math.round(start - t0),
      hr: hrUs(),
      ms: 0,
      cmd: command.constructor.name.replace(/Command$/, ''),
      key: typeof input.Key === 'string' ? input.Key.split('/').slice(-3).join('/') : typeof input.Prefix === 'string' ? `prefix:${input.Prefix.split('/').slice(-3).join('/')}` : undefined,
      bytes: typeof input.ContentLength === 'number' ? input.ContentLength : body?.byteLength ?? body?.length,
      part: typeof input.PartNumber === 'number' ? input.PartNumber : undefined,
      range: (input.Range ?? input.CopySourceRange) as string | undefined,
    };
    const r = als.getStore();
    if (r) line.req = { id: r.id, method: r.method, path: short(r.url) };
    lines.push(line);
    const p = origSend.call(this, command, ...rest);
    p.then(
      () => {
        line.ms = +(performance.now() - start).toFixed(2);
        line.status = 'ok';
      },
      (err: { $metadata?: { httpStatusCode?: number }; name?: string }) => {
        line.ms = +(performance.now() - start).toFixed(2);
        line.status = err?.$metadata?.httpStatusCode ?? err?.name ?? 'error';
      },
    );
    return p;
  };

  const out = process.env.S3_TRACE_FILE ?? join(fileURLToPath(new URL('../../.bench-out/', import.meta.url)), `s3-trace-${process.pid}.jsonl`);
  process.on('exit', () => {
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, [...lines, ...requests].map((l) => JSON.stringify(l)).join('\n') + '\n');
  });
}

/** Per registry request kind: how many S3 calls of each command, bytes, and time. */
function summary(file: string): void {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TraceLine | RequestLine)
    .filter((l): l is TraceLine => !('kind' in l));
  const norm = (p: string) =>
    p
      .replace(/sha256:[0-9a-f]{64}/g, 'DIGEST')
      .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'UUID')
      .replace(/\/v2\/([^?]*?)\/(blobs|manifests|tags)/, '/v2/NAME/$2')
      .replace(/\/manifests\/[^/?]+/, '/manifests/REF');
  const byKind = new Map<string, { requests: Set<number>; cmds: Map<string, { n: number; bytes: number; ms: number }> }>();
  for (const l of lines) {
    const kind = l.req ? `${l.req.method} ${norm(l.req.path)}` : '(no request)';
    const k = byKind.get(kind) ?? { requests: new Set<number>(), cmds: new Map() };
    if (l.req) k.requests.add(l.req.id);
    const c = k.cmds.get(l.cmd) ?? { n: 0, bytes: 0, ms: 0 };
    c.n++;
    c.bytes += l.bytes ?? 0;
    c.ms += l.ms;
    k.cmds.set(l.cmd, c);
    byKind.set(kind, k);
  }
  for (const [kind, k] of byKind) {
    const n = Math.max(1, k.requests.size);
    console.log(`${kind}  (${k.requests.size} requests)`);
    for (const [cmd, c] of [...k.cmds].sort((a, b) => b[1].ms - a[1].ms)) {
      console.log(
        `  ${cmd.padEnd(28)} ${(c.n / n).toFixed(2).padStart(7)} calls/req  ${(c.bytes / n / 1048576).toFixed(2).padStart(8)} MiB/req  ${(c.ms / n).toFixed(1).padStart(8)} ms/req (sum of call times)`,
      );
    }
  }
}

if (process.argv[2] === 'summary' && process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  summary(process.argv[3]!);
} else {
  await install();
}
