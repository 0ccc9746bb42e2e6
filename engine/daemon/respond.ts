/** Small response helpers: JSON as dockerd's encoder writes it (with a trailing newline), empty answers. */
import type { ServerResponse } from 'node:http';
import { messageOf, statusOf } from './errors.js';

export function sendJSON(res: ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(`${JSON.stringify(body)}\n`);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', data.length);
  res.end(data);
}

export function sendEmpty(res: ServerResponse, status: number): void {
  res.statusCode = status;
  res.setHeader('Content-Length', 0);
  res.end();
}

/** The error answer; once a body has started there is no status left to send, so the connection is cut. */
export function sendError(res: ServerResponse, err: unknown): void {
  if (res.headersSent) {
    res.destroy(err instanceof Error ? err : new Error(String(err)));
    return;
  }
  // Headers a handler set for its success answer (a stream's type) do not describe an error.
  for (const name of res.getHeaderNames()) if (!['api-version', 'docker-experimental', 'ostype', 'server'].includes(name)) res.removeHeader(name);
  sendJSON(res, statusOf(err), { message: messageOf(err) });
}
