// Small loopback servers for the registry client's tests: a recording HTTP proxy that can answer
// or corrupt, a TCP proxy that cuts a connection after N bytes, a bare HTTP server, and helpers.
import { writeFile } from 'node:fs/promises';
import { Agent, createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import bcrypt from 'bcryptjs';

type Hooks = { after(fn: () => unknown): void };

export interface Recorded {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  requests: Recorded[];
}

async function listen(t: Hooks, server: Server, address = '127.0.0.1'): Promise<number> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve());
  });
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return (server.address() as AddressInfo).port;
}

/** A plain HTTP server running `handler`; records every request. */
export async function startServer(t: Hooks, handler: (req: IncomingMessage, res: ServerResponse) => void, address = '127.0.0.1'): Promise<RunningServer> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } });
    handler(req, res);
  });
  const port = await listen(t, server, address);
  return { url: `http://${address}:${port}`, host: `${address}:${port}`, port, requests };
}

export interface ProxyOptions {
  /** Answer a request without forwarding it: return true when handled. */
  intercept?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Rewrite a forwarded response body chunk; `offset` is where the chunk starts in the body. */
  transform?: (req: IncomingMessage, chunk: Buffer, offset: number) => Buffer;
}

/** An HTTP proxy in front of `upstream` (keeping the Host header, so Locations point at the proxy). */
export async function startHttpProxy(t: Hooks, upstream: string, options: ProxyOptions = {}): Promise<RunningServer> {
  const target = new URL(upstream);
  const agent = new Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? '', url: req.url ?? '', headers: { ...req.headers } });
    if (options.intercept?.(req, res)) {
      req.resume();
      return;
    }
    const out = request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers, agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        let offset = 0;
        up.on('data', (chunk: Buffer) => {
          const sent = options.transform ? options.transform(req, chunk, offset) : chunk;
          offset += chunk.length;
          res.write(sent);
        });
        up.on('end', () => res.end());
        up.on('error', () => res.destroy());
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  const port = await listen(t, server);
  return { url: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, port, requests };
}

export interface CutProxy {
  url: string;
  host: string;
  /** Everything clients sent upstream, per connection, as latin1 text (request lines and headers). */
  sent: string[];
  cuts: number;
}

/**
 * A TCP proxy to `upstreamPort` that destroys a connection once it has passed `cutAfter` bytes
 * towards the client, for the first `times` connections that get that far. `cutAfter` may be a
 * function of the connection's index (0, 1, ...) giving a limit, or undefined for none.
 */
export async function startCutProxy(t: Hooks, upstreamPort: number, cutAfter: number | ((connection: number) => number | undefined), times = 1): Promise<CutProxy> {
  const state: CutProxy = { url: '', host: '', sent: [], cuts: 0 };
  const sockets = new Set<Socket>();
  const server = createTcpServer((client) => {
    const upstream = connect(upstreamPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    const index = state.sent.push('') - 1;
    let passed = 0;
    const limit = typeof cutAfter === 'number' ? cutAfter : cutAfter(index);
    const armed = limit !== undefined && state.cuts < times;
    client.on('data', (d: Buffer) => {
      state.sent[index] += d.toString('latin1');
      upstream.write(d);
    });
    // After a cut the client's side is gone; the registry's side is drained (and closed at
    // cleanup) rather than reset, so the cut is a dropped connection for the client only. (A reset
    // mid-response can crash tsdocker-registry: an unhandled rejection in FilesystemBackend.copyTo.)
    let cut = false;
    upstream.on('data', (d: Buffer) => {
      if (cut) return;
      if (armed && state.cuts < times && passed + d.length >= limit) {
        client.write(d.subarray(0, limit - passed));
        state.cuts++;
        cut = true;
        client.destroy();
        return;
      }
      passed += d.length;
      client.write(d);
    });
    const close = () => {
      client.destroy();
      if (!cut) upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', () => {
      client.destroy();
      upstream.destroy();
    });
    client.on('close', close);
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  const port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${port}`;
  state.host = `127.0.0.1:${port}`;
  return state;
}

/** htpasswd with bcrypt entries (cost 5, as `htpasswd -B` makes by default). */
export async function writeHtpasswd(path: string, users: Record<string, string>): Promise<void> {
  const lines = Object.entries(users).map(([u, p]) => `${u}:${bcrypt.hashSync(p, 5).replace(/^\$2[ab]\$/, '$2y$')}`);
  await writeFile(path, `${lines.join('\n')}\n`, { mode: 0o600 });
}

export async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** Access rules for the built-in token server: alice owns team/*, bob and anonymous pull. */
export function tokenAuth(realm: string, htpasswd: string): Record<string, unknown> {
  return {
    token: {
      realm,
      service: 'tsdocker-test',
      issuer: 'tsdocker-test',
      htpasswd,
      expiration: 300,
      access: [
        { repository: 'team/*', users: ['alice'], actions: ['pull', 'push', 'delete'] },
        { repository: '*', users: ['bob', 'anonymous'], actions: ['pull'] },
      ],
    },
  };
}

/** How many tokens the registry's token server has issued (it logs each at level info). */
export function tokensIssued(output: string): number {
  return output.split('\n').filter((line) => line.includes('token issued')).length;
}
