import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TsdError } from '../shared/errors.js';
import { parseRepositoryName } from '../shared/reference.js';
import { requiredAccess } from './auth/required-access.js';
import type { Auth } from './auth/setup.js';
import type { HandlerOptions, RequestContext } from './handlers/context.js';
import { sendError } from './http.js';
import type { StorageHealth } from './health.js';
import type { Logger } from './log.js';
import type { RegistryMetrics } from './metrics.js';
import { makeEvent } from './notifications/events.js';
import type { Notifier } from './notifications/notifier.js';
import { answerOperations } from './operations.js';
import type { Registry } from './registry/registry.js';
import { matchRoute } from './routes.js';

export interface AppOptions extends HandlerOptions {
  accessLog: boolean;
  metrics?: RegistryMetrics;
  /** Where /metrics is answered on this listener (undefined: not here). */
  metricsPath?: string;
  health?: StorageHealth;
  notifier?: Notifier;
  /** This registry's address, for events' `source.addr`. */
  sourceAddr?: string;
}

/** Bodies up to this size are read away before an error answer. */
const drainLimit = 16 * 1024 * 1024;

/**
 * Answering before the request body was read makes clients fail on a reset connection (EPIPE)
 * instead of reporting the error, so read the rest away first, up to a limit; past it, answer and
 * close the connection.
 */
function drainThen(req: IncomingMessage, res: ServerResponse, send: () => void): void {
  const declared = req.headers['content-length'];
  if (req.complete || res.headersSent || req.readableEnded) return send();
  if (req.destroyed) {
    res.setHeader('Connection', 'close');
    return send();
  }
  if (declared !== undefined && !(/^\d{1,16}$/.test(declared) && Number(declared) <= drainLimit)) {
    res.setHeader('Connection', 'close');
    return send();
  }
  let seen = 0;
  let done = false;
  const finish = (close: boolean) => {
    if (done) return;
    done = true;
    req.off('data', onData);
    if (close) res.setHeader('Connection', 'close');
    send();
  };
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > drainLimit) finish(true);
  };
  // A handler that stopped iterating the body may have left a 'readable' listener, which would
  // keep the stream from flowing.
  req.removeAllListeners('readable');
  req.on('data', onData);
  req.once('end', () => finish(false));
  req.once('error', () => res.destroy());
  req.resume();
}

function isClientGone(err: unknown, res: ServerResponse): boolean {
  const code = (err as { code?: string }).code;
  return res.destroyed || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'ABORT_ERR' || (err as Error).message === 'aborted';
}

/**
 * The registry's HTTP application: one dispatcher over the route table, one error renderer.
 * A plain node:http listener: a framework's per-request work cost 4.6x on small requests here,
 * and repository names (which contain `/`) need our own route table anyway.
 */
export function createApp(registry: Registry, log: Logger, options: AppOptions, auth: Auth): (req: IncomingMessage, res: ServerResponse) => void {
  const accessLog = options.accessLog && log.isLevelEnabled('info');
  return (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const requestId = randomUUID();
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    res.setHeader('X-Request-Id', requestId);
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q >= 0 ? url.slice(0, q) : url;
    // Decoded as distribution's router does (`sha256%3A...` is a digest); every part is then
    // validated against its grammar, so an encoded `..` or `/` gains nothing.
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      path = rawPath;
    }
    let routeName = 'unknown';
    if (options.metrics) {
      const metrics = options.metrics;
      res.once('finish', () => {
        const bytesIn = Number(req.headers['content-length'] ?? 0) || 0;
        metrics.observe(routeName, req.method ?? '', res.statusCode, Number(process.hrtime.bigint() - started) / 1e9, bytesIn, Number(res.getHeader('Content-Length') ?? 0) || 0);
      });
    }
    if (accessLog) {
      res.once('finish', () => {
        log.info(
          {
            requestId,
            method: req.method,
            path,
            status: res.statusCode,
            bytesOut: Number(res.getHeader('Content-Length') ?? 0),
            durationMs: Number(process.hrtime.bigint() - started) / 1e6,
            remote: req.socket.remoteAddress,
            userAgent: req.headers['user-agent'],
          },
          'request',
        );
      });
    }
    const fail = (err: unknown) => {
      if (err instanceof TsdError) {
        // Answering before a small body was read makes clients fail on a reset connection
        // (EPIPE) instead of reporting the error: read it away first. Large ones are cut off.
        drainThen(req, res, () => sendError(res, err));
      } else if (isClientGone(err, res)) {
        if (!res.headersSent) res.destroy();
      } else {
        log.error({ requestId, err, method: req.method, path }, 'request failed');
        sendError(res, new TsdError('UNKNOWN', 'internal server error'));
      }
    };
    try {
      if (auth.tokenServer && path === auth.tokenServer.path) {
        routeName = 'token';
        auth.tokenServer.server.handle(req, res);
        return;
      }
      const operational = answerOperations(path, res, options, fail);
      if (operational) {
        routeName = operational;
        return;
      }
      const match = matchRoute(path);
      if (!match) throw new TsdError('NOT_FOUND', 'no such route', { detail: { path: path.slice(0, 200) } });
      routeName = match.route.name;
      if (routeName === 'base' && options.health && !options.health.status().ok) {
        throw new TsdError('UNAVAILABLE', 'the registry cannot reach its storage');
      }
      const handler = match.route.methods[req.method ?? ''];
      if (!handler) throw new TsdError('UNSUPPORTED', `method ${req.method} is not supported on ${match.route.name}`);
      if (match.params.name !== undefined) parseRepositoryName(match.params.name);
      auth.controller
        .authorize(req, requiredAccess(match.route.name, req.method!, match.params))
        .then((caller) => {
          const notifier = options.notifier;
          const notify: RequestContext['notify'] = notifier?.enabled
            ? (action, target) => notifier.emit(makeEvent(action, target, req, requestId, caller.user, options.sourceAddr ?? ''))
            : () => {};
          return handler({ req, res, params: match.params, registry, options, log, caller, open: auth.controller.kind === 'anonymous', notify });
        })
        .catch(fail);
    } catch (err) {
      fail(err);
    }
  };
}
