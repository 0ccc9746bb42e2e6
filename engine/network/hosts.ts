/**
 * A container's /etc/hosts, as docker writes it: the localhost lines, `--add-host` entries, the
 * container's own address and hostname, and (for user-defined networks, where docker answers by
 * its embedded DNS) one line per other container on the network: `IP name hostname aliases...`.
 * The file is rewritten in place (same inode), because the runtime bind-mounts it.
 */
import { open, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { TsdError, isNotFound } from '../../shared/errors.js';

export const localhostLines = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::0\tip6-localnet',
  'ff00::0\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

export interface HostEntry {
  ip: string;
  names: string[];
}

export interface ExtraHost {
  name: string;
  ip: string;
}

/** docker's `--add-host name:ip` (or `name=ip`); `host-gateway` becomes `hostGateway`. */
export function parseExtraHost(spec: string, hostGateway?: string): ExtraHost {
  const at = /[:=]/.exec(spec)?.index ?? -1;
  const name = at < 0 ? '' : spec.slice(0, at);
  let ip = at < 0 ? '' : spec.slice(at + 1);
  if (ip === 'host-gateway') {
    if (hostGateway === undefined) throw new TsdError('INVALID_ARGUMENT', `unable to derive the IP value for host-gateway`);
    ip = hostGateway;
  }
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (!name || !/^[A-Za-z0-9._-]+$/.test(name)) throw new TsdError('INVALID_ARGUMENT', `invalid argument "${spec}" for "--add-host" flag: bad format for add-host: "${spec}"`);
  if (isIP(ip) === 0) throw new TsdError('INVALID_ARGUMENT', `invalid argument "${spec}" for "--add-host" flag: invalid IP address in add-host: "${ip}"`);
  return { name, ip };
}

function line(e: HostEntry): string | undefined {
  const names = [...new Set(e.names.filter((n) => n !== ''))];
  return names.length === 0 ? undefined : `${e.ip}\t${names.join(' ')}`;
}

export interface HostsContent {
  extraHosts?: ExtraHost[];
  /** The container's own addresses and names. */
  self?: HostEntry[];
  /** Other containers on its user-defined networks. */
  peers?: HostEntry[];
}

export function renderHosts(c: HostsContent): string {
  const lines = [...localhostLines];
  for (const h of c.extraHosts ?? []) lines.push(`${h.ip}\t${h.name}`);
  for (const e of [...(c.self ?? []), ...(c.peers ?? [])]) {
    const l = line(e);
    if (l !== undefined) lines.push(l);
  }
  return `${lines.join('\n')}\n`;
}

/** A `host`-network container sees the host's own hosts file (docker copies it). */
export async function hostModeHosts(extraHosts: ExtraHost[] = []): Promise<string> {
  const host = await readFile('/etc/hosts', 'utf8').catch(() => `${localhostLines.join('\n')}\n`);
  return `${host}${host.endsWith('\n') ? '' : '\n'}${extraHosts.map((h) => `${h.ip}\t${h.name}\n`).join('')}`;
}

/**
 * Replace the file's content keeping its inode (a bind mount of it stays valid). With
 * `onlyIfExists`, a missing file (a container already removed) is left missing.
 */
export async function rewriteInPlace(path: string, content: string, options: { onlyIfExists?: boolean } = {}): Promise<void> {
  if (!options.onlyIfExists) return writeFile(path, content, { flag: 'w' });
  let handle;
  try {
    handle = await open(path, 'r+');
  } catch (err) {
    if (isNotFound(err)) return;
    throw err;
  }
  try {
    await handle.truncate(0);
    await handle.write(content, 0, 'utf8');
  } finally {
    await handle.close();
  }
}
