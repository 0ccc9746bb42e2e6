/**
 * Where a registry host is reached. https always, except loopback hosts (localhost, 127.0.0.0/8,
 * ::1) and hosts configured as insecure, which are spoken to over plain http. Docker Hub's names
 * go to registry-1.docker.io.
 */
import { isIP } from 'node:net';
import { TsdError } from '../../shared/errors.js';

export const dockerHubRegistry = 'registry-1.docker.io';
const dockerHubNames = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

export function isDockerHub(host: string): boolean {
  return dockerHubNames.has(host.toLowerCase());
}

/** The host name without port or IPv6 brackets. */
export function hostnameOf(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end > 0 ? host.slice(1, end) : host;
  }
  const colon = host.indexOf(':');
  return colon >= 0 && host.indexOf(':', colon + 1) < 0 ? host.slice(0, colon) : host;
}

export function isLoopbackHost(host: string): boolean {
  const name = hostnameOf(host).toLowerCase();
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (isIP(name) === 4) return name.startsWith('127.');
  if (isIP(name) === 6) return name === '::1' || name === '0:0:0:0:0:0:0:1';
  return false;
}

export interface EndpointOptions {
  /** Hosts (`host` or `host:port`) spoken to over plain http. */
  insecure?: string[];
  /** Force the scheme (e.g. https to a loopback registry that serves TLS). */
  scheme?: 'http' | 'https';
}

/** Validate a registry host (`host[:port]`, `[v6]:port`) and give the base URL of its API. */
export function registryBaseURL(host: string, options: EndpointOptions = {}): URL {
  let parsed: URL;
  try {
    parsed = new URL(`http://${host}/`);
  } catch {
    throw new TsdError('INVALID_ARGUMENT', `invalid registry host "${host.slice(0, 200)}"`);
  }
  // Anything URL parsing moved (userinfo, paths, default ports) is not a plain host.
  const canonical = parsed.host.toLowerCase();
  if (canonical !== host.toLowerCase() && `${canonical}:80` !== host.toLowerCase()) {
    throw new TsdError('INVALID_ARGUMENT', `invalid registry host "${host.slice(0, 200)}"`);
  }
  if (isDockerHub(host)) return new URL(`${options.scheme ?? 'https'}://${dockerHubRegistry}/`);
  const insecure = (options.insecure ?? []).some((h) => h.toLowerCase() === host.toLowerCase() || h.toLowerCase() === hostnameOf(host).toLowerCase());
  const scheme = options.scheme ?? (insecure || isLoopbackHost(host) ? 'http' : 'https');
  return new URL(`${scheme}://${host}/`);
}
