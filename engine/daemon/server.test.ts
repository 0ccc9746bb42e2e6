// The API server's dispatch with route tables of the test's own (over a real engine on a temp
// data root): connection takeover for routes that ask for it (what container attach will use), the
// request signal firing when the client goes away, and shutdown finishing or aborting requests.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test, type TestContext } from 'node:test';
import { openEngine } from '../images/open-engine.js';
import { defaults } from './config.js';
import type { DaemonContext } from './daemon-context.js';
import { createDaemonLogger } from './log.js';
import type { Route } from './routes.js';
import { createApiServer, type ApiServer } from './server.js';

async function serve(t: TestContext, table: Route[]): Promise<{ api: ApiServer; socket: string; logs: () => string }> {
  const dir = await mkdtemp(join(tmpdir(), 'tsdd-srv-'));
  let logs = '';
  const log = createDaemonLogger({ level: 'debug', destination: new Writable({ write: (c, _e, cb) => ((logs += c), cb()) }) });
  const engine = await openEngine({ dataRoot: join(dir, 'data'), storageDriver: 'vfs', unpackWorkers: 1 });
  // The server alone: no container services are needed by these routes.
  const daemon = { engine, config: { ...defaults, dataRoot: join(dir, 'data') }, log, engineId: 'test', startedAt: new Date() } as unknown as DaemonContext;
  const api = createApiServer(daemon, table);
  const socket = join(dir, 's.sock');
  await api.listen([{ kind: 'unix', path: socket }]);
  t.after(async () => {
    await api.close(0);
    await engine.close();
    await rm(dir, { recursive: true, force: true });
  });
  return { api, socket, logs: () => logs };
}

function get(socket: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a route with an upgrade handler takes over the connection (101, then raw bytes both ways)', async (t) => {
  const table: Route[] = [
    {
      name: 'echo',
      methods: ['POST'],
      pattern: /^\/echo\/(?<id>[^/]+)$/,
      handler: () => {
        throw new Error('not without an upgrade');
      },
      upgrade: (_daemon, { socket, params, head }) => {
        socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n${params.id}:`);
        if (head.length > 0) socket.write(head);
        socket.pipe(socket);
      },
    },
  ];
  const { socket, api } = await serve(t, table);
  const conn = createConnection(socket);
  let received = '';
  conn.on('data', (c) => (received += c));
  conn.write('POST /v1.41/echo/abc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n');
  await waitUntil(() => received.includes('abc:'));
  assert.match(received, /^HTTP\/1\.1 101 UPGRADED\r\n/);
  conn.write('hello over the hijacked stream');
  await waitUntil(() => received.endsWith('hello over the hijacked stream'));
  assert.equal(api.inFlight, 1, 'a taken-over connection counts as work in flight');
  conn.end();
  await waitUntil(() => api.inFlight === 0);
});

test('the request signal fires when the client goes away (a cancelled docker pull stops the pull)', async (t) => {
  let aborted: unknown;
  const table: Route[] = [
    {
      name: 'wait',
      methods: ['GET'],
      pattern: /^\/wait$/,
      handler: async (_daemon, { res, signal }) => {
        res.flushHeaders();
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        aborted = signal.reason;
      },
    },
  ];
  const { socket, api } = await serve(t, table);
  const req = request({ socketPath: socket, path: '/wait' });
  req.on('error', () => {});
  req.end();
  await new Promise<void>((resolve) => req.on('response', () => resolve()));
  assert.equal(api.inFlight, 1);
  req.destroy();
  await waitUntil(() => aborted !== undefined);
  assert.match(String((aborted as Error).message), /client closed the connection/);
  await waitUntil(() => api.inFlight === 0);
});

test('close: requests that finish within the grace period are answered; the rest are aborted; the socket goes', async (t) => {
  let release: () => void = () => {};
  const table: Route[] = [
    {
      name: 'slow',
      methods: ['GET'],
      pattern: /^\/slow$/,
      handler: async (_daemon, { res }) => {
        await new Promise<void>((resolve) => (release = resolve));
        res.end('done');
      },
    },
    {
      name: 'stuck',
      methods: ['GET'],
      pattern: /^\/stuck$/,
      handler: async (_daemon, { res, signal }) => {
        await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
        res.statusCode = 503;
        res.end('aborted');
      },
    },
  ];
  const first = await serve(t, table);
  const answered = get(first.socket, '/slow');
  await waitUntil(() => first.api.inFlight === 1);
  const closing = first.api.close(10_000);
  setTimeout(() => release(), 200);
  assert.deepEqual(await answered, { status: 200, body: 'done' });
  await closing;
  assert.ok(!existsSync(first.socket));

  const second = await serve(t, table);
  const stuck = get(second.socket, '/stuck');
  await waitUntil(() => second.api.inFlight === 1);
  const started = Date.now();
  await second.api.close(300);
  assert.ok(Date.now() - started >= 250);
  assert.deepEqual(await stuck, { status: 503, body: 'aborted' });
  assert.match(second.logs(), /aborting requests still in flight/);
});

async function waitUntil(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
