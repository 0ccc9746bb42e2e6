/**
 * What a handler gets: the parsed request (route params, query, API version), an AbortSignal that
 * fires when the client goes away or the daemon shuts down, and the daemon's services.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { TsdError } from '../../shared/errors.js';
import type { DaemonContext } from './daemon-context.js';
import type { Logger } from './log.js';

interface RequestBase {
  req: IncomingMessage;
  params: Record<string, string>;
  query: URLSearchParams;
  /** The version the client asked for in its `/vX.Y/` prefix (or the current one). */
  apiVersion: string;
  signal: AbortSignal;
  log: Logger;
}

export interface ApiRequest extends RequestBase {
  res: ServerResponse;
}

/** A request that takes over its connection (`Connection: Upgrade`, as attach and exec start use). */
export interface UpgradeRequest extends RequestBase {
  socket: Duplex;
  head: Buffer;
}

export type Handler = (daemon: DaemonContext, request: ApiRequest) => Promise<void> | void;
export type UpgradeHandler = (daemon: DaemonContext, request: UpgradeRequest) => Promise<void> | void;

/** docker's boolean query values: absent, "", "0", "no", "false", "none" are false; anything else true. */
export function boolParam(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  if (v === null) return false;
  return !['', '0', 'no', 'false', 'none'].includes(v.trim().toLowerCase());
}

/** A JSON request body of at most `limit` bytes. */
export async function readJSON<T>(req: IncomingMessage, limit = 1024 * 1024): Promise<T> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new TsdError('INVALID_ARGUMENT', `request body is larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new TsdError('INVALID_ARGUMENT', 'request body is empty');
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new TsdError('INVALID_ARGUMENT', `invalid JSON in the request body: ${(err as Error).message}`);
  }
}
