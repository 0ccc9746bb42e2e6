/**
 * The API server: node:http on every `-H` address, one dispatcher over the route table. Each
 * request gets an AbortSignal that fires when its client goes away (a Ctrl-C'd `docker pull` stops
 * the pull) or when shutdown gives up waiting for it. Shutdown: stop accepting, let requests in
 * flight finish for the grace period, then abort the rest and close every connection.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { rm } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import { apiVersion, splitVersion } from './api-version.js';
import type { DaemonContext } from './daemon-context.js';
import { badParameter, messageOf, pageNotFound, statusOf } from './errors.js';
import { formatAddress, listenOn, type ListenAddress } from './hosts.js';
import { matchRoute, routes, type Route } from './routes.js';
import { sendError, sendJSON } from './respond.js';
import { serverHeader } from './version.js';

export interface ApiServer {
  listen(addresses: ListenAddress[]): Promise<void>;
  /** Stop accepting; wait up to `graceMs` for requests in flight, then abort them. */
  close(graceMs: number): Promise<void>;
  /** Requests being served right now. */
  readonly inFlight: number;
}

interface Work {
  controller: AbortController;
  done: Promise<void>;
}

const commonHeaders: Record<string, string> = {
  'Api-Version': apiVersion,
  'Docker-Experimental': 'false',
  Ostype: 'linux',
  Server: serverHeader,
};

function splitUrl(url: string): { path: string; query: URLSearchParams } {
  const q = url.indexOf('?');
  return { path: q >= 0 ? url.slice(0, q) : url, query: new URLSearchParams(q >= 0 ? url.slice(q + 1) : '') };
}

/** Version prefix and route of a request; throws the 400s, returns undefined for dockerd's 404. */
function resolve(method: string, url: string, table: readonly Route[]) {
  const { path, query } = splitUrl(url);
  const { version, path: routePath } = splitVersion(path);
  let match;
  try {
    match = matchRoute(method, routePath, table);
  } catch (err) {
    if (err instanceof URIError) throw badParameter(`invalid escape in ${path.slice(0, 200)}`);
    throw err;
  }
  return match && { ...match, query, version };
}

export function createApiServer(daemon: DaemonContext, table: readonly Route[] = routes): ApiServer {
  const servers: Server[] = [];
  const addresses: ListenAddress[] = [];
  const work = new Set<Work>();
  let counter = 0;

  function track(run: (controller: AbortController) => Promise<void>): void {
    const entry: Work = { controller: new AbortController(), done: Promise.resolve() };
    work.add(entry);
    entry.done = run(entry.controller).finally(() => work.delete(entry));
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    const id = ++counter;
    const started = Date.now();
    const log = daemon.log.child({ request: id });
    for (const [k, v] of Object.entries(commonHeaders)) res.setHeader(k, v);
    track(async (controller) => {
      const signal = controller.signal;
      res.once('close', () => {
        if (!res.writableFinished) controller.abort(new Error('the client closed the connection'));
      });
      const method = req.method ?? 'GET';
      try {
        const match = resolve(method, req.url ?? '/', table);
        if (!match) {
          for (const k of Object.keys(commonHeaders)) res.removeHeader(k);
          sendJSON(res, pageNotFound.status, pageNotFound.body);
          return;
        }
        log.debug({ method, url: req.url, route: match.route.name }, `Calling ${method} ${req.url}`);
        await match.route.handler(daemon, { req, res, params: match.params, query: match.query, apiVersion: match.version, signal, log });
      } catch (err) {
        const status = statusOf(err);
        if (status >= 500) log.error({ err, method, url: req.url }, `Handler for ${method} ${req.url} returned error: ${messageOf(err)}`);
        else log.debug({ method, url: req.url, status }, `Handler for ${method} ${req.url} returned error: ${messageOf(err)}`);
        sendError(res, err);
      } finally {
        log.debug({ method, url: req.url, status: res.statusCode, ms: Date.now() - started }, 'request done');
      }
    });
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const refuse = (status: number, message: string) => {
      const body = `${JSON.stringify({ message })}\n`;
      socket.end(`HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Bad Request'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    let match;
    try {
      match = resolve(req.method ?? 'GET', req.url ?? '/', table);
    } catch (err) {
      refuse(400, messageOf(err));
      return;
    }
    if (!match) return refuse(404, pageNotFound.body.message);
    const upgrade = match.route.upgrade;
    if (!upgrade) return refuse(400, `${match.route.name} does not take over the connection`);
    const log = daemon.log.child({ request: ++counter });
    track(async ({ signal }) => {
      const closed = new Promise<void>((done) => socket.once('close', () => done()));
      try {
        await upgrade(daemon, { req, socket, head, params: match.params, query: match.query, apiVersion: match.version, signal, log });
      } catch (err) {
        log.error({ err, url: req.url }, `upgrade handler failed: ${messageOf(err)}`);
        socket.destroy();
      }
      await closed;
    });
  }

  return {
    get inFlight() {
      return work.size;
    },
    async listen(list: ListenAddress[]) {
      for (const address of list) {
        const server = createServer({ keepAliveTimeout: 65_000, requestTimeout: 0, headersTimeout: 60_000 }, onRequest);
        server.on('upgrade', onUpgrade);
        await listenOn(server, address);
        servers.push(server);
        addresses.push(address);
        daemon.log.info({ host: formatAddress(address) }, `API listen on ${address.kind === 'unix' ? address.path : formatAddress(address)}`);
      }
    },
    async close(graceMs: number) {
      const closed = servers.map((s) => new Promise<void>((done) => s.close(() => done())));
      const deadline = Date.now() + graceMs;
      while (work.size > 0 && Date.now() < deadline) {
        for (const s of servers) s.closeIdleConnections();
        await new Promise((r) => setTimeout(r, 50));
      }
      const settled = (ms: number) => Promise.race([Promise.allSettled([...work].map((w) => w.done)), new Promise((r) => setTimeout(r, ms))]);
      if (work.size > 0) {
        daemon.log.warn({ requests: work.size }, 'aborting requests still in flight');
        for (const w of work) w.controller.abort(new Error('the daemon is shutting down'));
        // A moment to answer (a pull's last error line) before the connections go.
        await settled(1000);
      }
      // Cutting the connections also fails handlers blocked on a request body or a slow client;
      // they then get a moment to clean up (staging, active snapshots) before the engine closes.
      for (const s of servers) s.closeAllConnections();
      if (work.size > 0) await settled(5000);
      await Promise.all(closed);
      for (const a of addresses) if (a.kind === 'unix') await rm(a.path, { force: true });
    },
  };
}
