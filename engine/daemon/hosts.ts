/**
 * Where the API listens (`-H`): `unix:///path` (the default, `unix:///var/run/tsdocker.sock`) or
 * `tcp://HOST:PORT` (plain HTTP, so anything but loopback is warned about). A unix socket left by
 * a daemon that died is replaced; one another process still answers on is refused.
 */
import { chmod, lstat, mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Server } from 'node:http';
import { createConnection, isIP } from 'node:net';
import { TsdError } from '../../shared/errors.js';

export const defaultHost = 'unix:///var/run/tsdocker.sock';

export type ListenAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export function parseHost(input: string): ListenAddress {
  const value = input.trim();
  if (value.startsWith('unix://')) {
    const path = value.slice('unix://'.length) || '/var/run/tsdocker.sock';
    if (!path.startsWith('/')) throw new TsdError('CONFIG_INVALID', `invalid unix socket address ${input}: the path must be absolute`);
    // sun_path holds 107 bytes and a NUL.
    if (Buffer.byteLength(path) > 107) throw new TsdError('CONFIG_INVALID', `unix socket path ${path} is longer than 107 bytes`);
    return { kind: 'unix', path };
  }
  if (value.startsWith('tcp://')) {
    const rest = value.slice('tcp://'.length).replace(/\/$/, '');
    const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(rest);
    if (!m) throw new TsdError('CONFIG_INVALID', `invalid tcp address ${input}: expected tcp://HOST:PORT`);
    // `tcp://:PORT` means loopback here (dockerd: every interface): an open API is opt-in.
    const host = m[1] ?? (m[2] || '127.0.0.1');
    const port = Number(m[3]);
    if (port > 65535) throw new TsdError('CONFIG_INVALID', `invalid port in ${input}`);
    return { kind: 'tcp', host, port };
  }
  if (value.startsWith('fd://')) throw new TsdError('CONFIG_INVALID', `${input}: socket activation (fd://) is not supported; use unix:// or tcp://`);
  throw new TsdError('CONFIG_INVALID', `invalid host ${input}: expected unix:///path or tcp://HOST:PORT`);
}

export function formatAddress(address: ListenAddress): string {
  return address.kind === 'unix' ? `unix://${address.path}` : `tcp://${isIP(address.host) === 6 ? `[${address.host}]` : address.host}:${address.port}`;
}

export function isLoopback(address: ListenAddress): boolean {
  if (address.kind === 'unix') return true;
  return address.host === 'localhost' || address.host.startsWith('127.') || address.host === '::1';
}

/** Does something accept connections on this unix socket? */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Prepare a unix socket path: its directory exists, a stale socket file is removed, a live one refused. */
async function clearSocket(path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  let isSocket = false;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new TsdError('CONFIG_INVALID', `${path} exists and is not a socket`);
  if (await answers(path)) throw new TsdError('ALREADY_EXISTS', `${path} is in use by another daemon`);
  await rm(path, { force: true });
}

/** Listen on one address; a unix socket gets mode 0660 (root and its group, as dockerd's). */
export async function listenOn(server: Server, address: ListenAddress): Promise<void> {
  if (address.kind === 'unix') await clearSocket(address.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (address.kind === 'unix') server.listen(address.path, done);
    else server.listen(address.port, address.host, done);
  });
  if (address.kind === 'unix') await chmod(address.path, 0o660);
}
