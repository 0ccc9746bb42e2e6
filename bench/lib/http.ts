import http from 'node:http';
import { createHash } from 'node:crypto';

export interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body, unless the request asked to discard it. */
  body: Buffer;
  /** Bytes of body received (also counted when discarded). */
  bytes: number;
}

export interface RequestOptions {
  headers?: Record<string, string | number>;
  body?: Buffer;
  /** Count the body's bytes but do not keep them (large GETs). */
  discard?: boolean;
  timeoutMs?: number;
}

/**
 * A small HTTP/1.1 client over Node's `http` with a keep-alive agent, so request overhead stays low
 * next to the server's. One per registry.
 */
export class Client {
  readonly agent: http.Agent;
  readonly base: URL;

  constructor(baseUrl: string, maxSockets = 64) {
    this.base = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets, scheduling: 'lifo' });
  }

  /** `target` is a path (`/v2/...`) or an absolute URL (a Location header, which may be either). */
  request(method: string, target: string, options: RequestOptions = {}): Promise<Response> {
    const url = new URL(target, this.base);
    if (url.hostname !== '127.0.0.1' && url.hostname !== 'localhost' && url.hostname !== '[::1]') {
      return Promise.reject(new Error(`refusing a non-loopback URL: ${url.href}`));
    }
    const headers: Record<string, string | number> = { ...options.headers };
    if (options.body) headers['Content-Length'] = options.body.length;
    else if (method === 'PUT' || method === 'POST' || method === 'PATCH') headers['Content-Length'] = 0;
    return new Promise<Response>((resolve, reject) => {
      const req = http.request(
        { agent: this.agent, method, hostname: url.hostname, port: url.port, path: url.pathname + url.search, headers },
        (res) => {
          const chunks: Buffer[] = [];
          let bytes = 0;
          res.on('data', (c: Buffer) => {
            bytes += c.length;
            if (!options.discard) chunks.push(c);
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), bytes }),
          );
          res.on('error', reject);
        },
      );
      req.setTimeout(options.timeoutMs ?? 120_000, () => req.destroy(new Error(`${method} ${url.pathname}: timed out`)));
      req.on('error', reject);
      req.end(options.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export function sha256Digest(data: Uint8Array): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

/** Throw with the registry's error body when the status is not the expected one. */
export function expectStatus(res: Response, expected: number | number[], what: string): void {
  const ok = Array.isArray(expected) ? expected.includes(res.status) : res.status === expected;
  if (!ok) {
    const body = res.body.length ? `: ${res.body.toString('utf8', 0, Math.min(res.body.length, 400))}` : '';
    throw new Error(`${what}: HTTP ${res.status} (wanted ${String(expected)})${body}`);
  }
}
