/**
 * A client of the Docker Engine API (v1.41) over a unix socket or TCP, with node:http: the one
 * place that knows URLs, the API version prefix, how the daemon reports errors and what an
 * unreachable daemon looks like.
 */
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError, daemonError } from './cli-error.js';
import type { DaemonHost } from './daemon-host.js';

export const apiVersion = '1.41';

export type Query = Record<string, string | number | boolean | string[] | undefined>;

export interface ApiRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'DELETE';
  /** Below the version prefix, e.g. `/images/json`; path segments already escaped. */
  path: string;
  query?: Query;
  headers?: Record<string, string>;
  /** A JSON body (sent with Content-Type application/json). */
  json?: unknown;
  /** A streamed body (e.g. an image archive for `/images/load`). */
  body?: Readable;
  signal?: AbortSignal;
}

const maxErrorBody = 1024 * 1024;

/** Query strings as docker's client writes them: booleans as 1/0, repeated keys for lists. */
export function queryString(query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, v);
    else if (typeof value === 'boolean') params.append(key, value ? '1' : '0');
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

/** A path segment that may hold `/` and `:` (image references), escaped like docker's client. */
export function refSegment(ref: string): string {
  return encodeURIComponent(ref).replace(/%2F/gi, '/').replace(/%3A/gi, ':').replace(/%40/gi, '@');
}

async function readLimited(res: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    if (size < limit) chunks.push(chunk.subarray(0, limit - size));
    size += chunk.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The daemon's error text: `{"message": ...}` as dockerd sends it, else the body, else the status. */
function errorText(status: number, statusMessage: string | undefined, body: string): string {
  const trimmed = body.trim();
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as { message?: unknown };
      if (typeof parsed.message === 'string') return parsed.message;
    } catch {
      /* not JSON after all */
    }
  }
  return trimmed === '' ? `${status} ${statusMessage ?? ''}`.trim() : trimmed;
}

/**
 * A hijacked connection (attach, exec start): after `101 UPGRADED` the socket carries the raw
 * stream both ways. `head` holds stream bytes that arrived with the response headers.
 */
export interface Hijacked {
  socket: Socket;
  head: Buffer;
  contentType: string | undefined;
}

export class EngineApi {
  readonly host: DaemonHost;
  private readonly userAgent: string;

  constructor(host: DaemonHost, options: { userAgent?: string } = {}) {
    this.host = host;
    this.userAgent = options.userAgent ?? 'tsdocker-cli';
  }

  /** Send a request; answers with status >= 400 become the daemon's error. */
  async send(req: ApiRequest): Promise<IncomingMessage> {
    const res = await this.exchange(req);
    const status = res.statusCode ?? 0;
    if (status >= 400) throw daemonError(status, errorText(status, res.statusMessage, await readLimited(res, maxErrorBody)));
    return res;
  }

  /** Send a request whose answer has no body worth reading (204s: start, stop, kill...). */
  async call(req: ApiRequest): Promise<void> {
    const res = await this.send(req);
    res.resume();
    await new Promise<void>((resolve) => {
      if (res.complete) resolve();
      else res.once('end', resolve).once('close', resolve);
    });
  }

  async json<T>(req: ApiRequest): Promise<T> {
    const res = await this.send(req);
    const text = await readLimited(res, 256 * 1024 * 1024);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(`the daemon answered ${req.method} ${req.path} with something that is not JSON: ${text.slice(0, 200)}`);
    }
  }

  /**
   * Ask the daemon to take over the connection (`Connection: Upgrade`, `Upgrade: tcp`, as docker's
   * client does for attach and exec). An error status becomes the daemon's error; a daemon that
   * answers 200 without upgrading is refused, as its stream could not carry stdin.
   */
  upgrade(req: ApiRequest): Promise<Hijacked> {
    const { outgoing, payload } = this.open(req, { Connection: 'Upgrade', Upgrade: 'tcp' });
    return new Promise<Hijacked>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        fn();
      };
      outgoing.once('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
        settle(() => resolve({ socket, head, contentType: res.headers['content-type'] }));
      });
      outgoing.once('response', (res) => {
        const status = res.statusCode ?? 0;
        readLimited(res, maxErrorBody).then(
          (body) =>
            settle(() =>
              reject(status >= 400 ? daemonError(status, errorText(status, res.statusMessage, body)) : new CliError(`the daemon did not upgrade ${req.method} ${req.path} (status ${status})`)),
            ),
          (err: Error) => settle(() => reject(new CliError(err.message, { cause: err }))),
        );
      });
      outgoing.once('error', (err) => settle(() => reject(this.connectError(err))));
      outgoing.end(payload);
    });
  }

  private open(req: ApiRequest, extraHeaders: Record<string, string> = {}): { outgoing: ClientRequest; payload: Buffer | undefined } {
    const headers: Record<string, string> = { 'User-Agent': this.userAgent, ...extraHeaders, ...req.headers };
    let payload: Buffer | undefined;
    if (req.json !== undefined) {
      payload = Buffer.from(JSON.stringify(req.json));
      headers['Content-Type'] = 'application/json';
      headers['Content-Length'] = String(payload.length);
    }
    const path = `/v${apiVersion}${req.path}${queryString(req.query)}`;
    const target =
      this.host.kind === 'unix'
        ? { socketPath: this.host.socketPath, host: 'api.moby.localhost' }
        : { host: this.host.hostname, port: this.host.port };
    const outgoing = request({ ...target, method: req.method, path, headers, agent: false, signal: req.signal });
    return { outgoing, payload };
  }

  /** The response whatever its status (for callers that treat 404 as an answer). */
  exchange(req: ApiRequest): Promise<IncomingMessage> {
    const { outgoing, payload } = this.open(req);
    return new Promise<IncomingMessage>((resolve, reject) => {
      let settled = false;
      outgoing.once('response', (res) => {
        settled = true;
        resolve(res);
      });
      outgoing.once('error', (err) => {
        if (settled) return;
        settled = true;
        reject(this.connectError(err));
      });
      if (req.body) {
        // The daemon may answer (an error) before it has read the whole body: that answer wins.
        pipeline(req.body, outgoing).catch((err: Error) => {
          if (settled) return;
          settled = true;
          outgoing.destroy();
          reject(new CliError(err.message, { cause: err }));
        });
      } else {
        outgoing.end(payload);
      }
    });
  }

  private connectError(err: Error): CliError {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES') {
      return new CliError(`permission denied while trying to connect to the tsdocker daemon socket at ${this.host.text}`, { cause: err });
    }
    if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENOTFOUND' || code === 'ECONNRESET' || code === 'ENOTSOCK') {
      return new CliError(`Cannot connect to the tsdocker daemon at ${this.host.text}. Is the tsdocker daemon running?`, { cause: err, connectionFailed: true });
    }
    return new CliError(`error during connect: ${err.message}`, { cause: err });
  }
}
