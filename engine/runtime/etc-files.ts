/**
 * The /etc/hosts, /etc/hostname and /etc/resolv.conf a container gets (docker writes them in
 * the container's directory and bind-mounts them).
 */
import { readFileSync } from 'node:fs';
import { localhostLines } from '../network/hosts.js';
import type { NetworkSpec } from './spec.js';


export interface HostsOptions {
  hostname: string;
  network: NetworkSpec;
  /** "name:ip" entries (docker --add-host). */
  extraHosts: string[];
  /** The container's own address (set by the network helper for a netns). */
  address?: string;
  /** The host's /etc/hosts, for host networking. */
  hostHosts?: string;
}

export function hostsFile(o: HostsOptions): string {
  const lines = o.network.mode === 'host' && o.hostHosts !== undefined ? o.hostHosts.replace(/\n*$/, '').split('\n') : [...localhostLines];
  for (const entry of o.extraHosts) {
    const colon = entry.indexOf(':');
    if (colon <= 0) throw new Error(`invalid argument "${entry}" for "--add-host": must be name:ip`);
    lines.push(`${entry.slice(colon + 1)}\t${entry.slice(0, colon)}`);
  }
  if (o.address) lines.push(`${o.address}\t${o.hostname}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The host's resolv.conf for the container: outside host networking, loopback name servers
 * cannot be reached from the container, so they are dropped (docker falls back to Google's
 * public servers when none remain). `dns` replaces the name servers.
 */
export function resolvConf(hostText: string, network: NetworkSpec, dns: string[] = []): string {
  const isLoopback = (ns: string): boolean => /^127\./.test(ns) || ns === '::1';
  const kept = hostText.split('\n').filter((l) => {
    if (l.trim() === '') return false;
    const m = /^\s*nameserver\s+(\S+)/.exec(l);
    return !m || (dns.length === 0 && (network.mode === 'host' || !isLoopback(m[1]!)));
  });
  const hasServer = kept.some((l) => /^\s*nameserver\s/.test(l));
  const servers = dns.length > 0 ? dns : hasServer || network.mode === 'host' ? [] : ['8.8.8.8', '8.8.4.4'];
  const out = [...kept, ...servers.map((s) => `nameserver ${s}`)];
  return out.length > 0 ? `${out.join('\n')}\n` : '';
}

export function readHostFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
