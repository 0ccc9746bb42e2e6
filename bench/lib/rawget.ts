import { connect } from 'node:net';

export interface RawGetResult {
  status: number;
  headers: Record<string, string>;
  /** Body bytes received (de-chunking is not done: with chunked framing this counts the framing too). */
  bytes: number;
  chunked: boolean;
}

/**
 * GET over a bare socket that reads into one reused 4 MiB buffer and only counts bytes. Node's
 * `http` client tops out near 400-600 MB/s on this kind of machine (64 KiB reads through llhttp and
 * streams), well below what the servers send, so the large-GET row would measure the client.
 */
export function rawGet(baseUrl: string, path: string, headers: Record<string, string> = {}, timeoutMs = 120_000): Promise<RawGetResult> {
  const url = new URL(baseUrl);
  if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost') return Promise.reject(new Error('loopback only'));
  const buffer = Buffer.allocUnsafe(4 * 1024 * 1024);
  return new Promise((resolve, reject) => {
    let head: Buffer | undefined = Buffer.alloc(0);
    let status = 0;
    let hdrs: Record<string, string> = {};
    let length = -1;
    let chunked = false;
    let bytes = 0;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve({ status, headers: hdrs, bytes, chunked });
    };
    const socket = connect({
      host: url.hostname,
      port: Number(url.port),
      onread: {
        buffer,
        callback(nread: number, buf: Uint8Array): boolean {
          if (head !== undefined) {
            head = Buffer.concat([head, buf.subarray(0, nread)]);
            const end = head.indexOf('\r\n\r\n');
            if (end < 0) {
              if (head.length > 65536) finish(new Error('response head too large'));
              return true;
            }
            const lines = head.subarray(0, end).toString('latin1').split('\r\n');
            status = Number(lines[0]!.split(' ')[1]);
            hdrs = {};
            for (const l of lines.slice(1)) {
              const i = l.indexOf(':');
              if (i > 0) hdrs[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
            }
            if (hdrs['content-length'] !== undefined) length = Number(hdrs['content-length']);
            chunked = /chunked/i.test(hdrs['transfer-encoding'] ?? '');
            bytes = head.length - (end + 4);
            head = undefined;
          } else {
            bytes += nread;
          }
          if (length >= 0 && bytes >= length) finish();
          return true;
        },
      },
    });
    socket.setTimeout(timeoutMs, () => finish(new Error(`GET ${path}: timed out`)));
    socket.on('error', (e) => finish(e));
    socket.on('end', () => {
      if (head !== undefined) finish(new Error('connection closed before the response head'));
      else if (length >= 0 && bytes < length) finish(new Error(`short body: ${bytes} of ${length} bytes`));
      else finish();
    });
    socket.on('connect', () => {
      const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n${extra}\r\n`);
    });
  });
}
