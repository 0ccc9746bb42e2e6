/**
 * Published ports: docker's `-p` grammar (`[ip:][hostPort:]containerPort[/proto]`, ranges `a-b`,
 * `[v6]` hosts) and the Engine API's PortBindings map (`{"80/tcp": [{HostIp, HostPort}]}`), both
 * into one list of bindings.
 */
import { isIP } from 'node:net';
import { TsdError } from '../../shared/errors.js';

export type Protocol = 'tcp' | 'udp';

export interface PortBinding {
  containerPort: number;
  protocol: Protocol;
  /** '0.0.0.0' when not given (docker's default host_binding_ipv4). */
  hostIp: string;
  /** 0: any free port (from `hostPortEnd` down to `hostPort` when a range was given). */
  hostPort: number;
  /** A host range with one container port (`8000-8010:80`): take a free port in the range. */
  hostPortEnd?: number;
}

export interface PublishedPort {
  containerPort: number;
  protocol: Protocol;
  hostIp: string;
  hostPort: number;
}

/** The Engine API's map form. */
export type PortMap = Record<string, Array<{ HostIp?: string; HostPort?: string }> | null>;

function bad(message: string): TsdError {
  return new TsdError('INVALID_ARGUMENT', message);
}

function parseRange(text: string, what: 'containerPort' | 'hostPort'): [number, number] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  const start = m ? Number(m[1]) : NaN;
  const end = m?.[2] !== undefined ? Number(m[2]) : start;
  const min = what === 'containerPort' ? 1 : 0;
  if (!m || start < min || end > 65535 || end < start) throw bad(`invalid ${what}: ${text}`);
  return [start, end];
}

function parseProtocol(text: string): Protocol {
  const p = text.toLowerCase();
  if (p === 'tcp' || p === 'udp') return p;
  if (p === 'sctp') throw bad(`unsupported protocol: sctp (tcp and udp only)`);
  throw bad(`invalid proto: ${text}`);
}

/** Split `ip:host:container` where ip may be `[v6]` or a bare v6 address (last two colons split). */
function splitSpec(spec: string): { ip: string; host: string; container: string } {
  if (spec.startsWith('[')) {
    const close = spec.indexOf(']');
    const rest = spec.slice(close + 1);
    const m = /^:([^:]*):([^:]+)$/.exec(rest);
    if (close < 0 || !m) throw bad(`invalid port format: "${spec}"`);
    return { ip: spec.slice(1, close), host: m[1]!, container: m[2]! };
  }
  const parts = spec.split(':');
  if (parts.length === 1) return { ip: '', host: '', container: parts[0]! };
  if (parts.length === 2) return { ip: '', host: parts[0]!, container: parts[1]! };
  const container = parts.pop()!;
  const host = parts.pop()!;
  return { ip: parts.join(':'), host, container };
}

/** Parse one `-p` value into bindings (several for ranges). */
export function parsePublish(spec: string): PortBinding[] {
  const { ip, host, container: containerWithProto } = splitSpec(spec.trim());
  const slash = containerWithProto.indexOf('/');
  const container = slash < 0 ? containerWithProto : containerWithProto.slice(0, slash);
  const protocol = slash < 0 ? 'tcp' : parseProtocol(containerWithProto.slice(slash + 1));
  if (ip !== '' && isIP(ip) === 0) throw bad(`invalid IP address: ${ip}`);
  if (ip !== '' && isIP(ip) === 6) throw bad(`IPv6 host addresses are not supported: ${ip}`);
  const hostIp = ip === '' ? '0.0.0.0' : ip;
  if (container === '') throw bad(`no port specified: ${spec}<empty>`);
  const [cStart, cEnd] = parseRange(container, 'containerPort');
  if (host === '') {
    return range(cStart, cEnd).map((p) => ({ containerPort: p, protocol, hostIp, hostPort: 0 }));
  }
  const [hStart, hEnd] = parseRange(host, 'hostPort');
  if (cStart === cEnd && hEnd > hStart) {
    return [{ containerPort: cStart, protocol, hostIp, hostPort: hStart, hostPortEnd: hEnd }];
  }
  if (hEnd - hStart !== cEnd - cStart) throw bad(`invalid ranges specified for container and host Ports: ${container} and ${host}`);
  return range(cStart, cEnd).map((p, i) => ({ containerPort: p, protocol, hostIp, hostPort: hStart === 0 ? 0 : hStart + i }));
}

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start + 1 }, (_, i) => start + i);
}

/** The Engine API's HostConfig.PortBindings into bindings. */
export function fromPortMap(map: PortMap): PortBinding[] {
  const out: PortBinding[] = [];
  for (const [key, hosts] of Object.entries(map)) {
    const [port = '', proto = 'tcp'] = key.split('/');
    for (const h of hosts && hosts.length > 0 ? hosts : [{}]) {
      const hostIp = h.HostIp ?? '';
      const hostPort = h.HostPort ?? '';
      out.push(...parsePublish(`${hostIp.includes(':') ? `[${hostIp}]` : hostIp}${hostIp ? ':' : ''}${hostPort}${hostIp || hostPort ? ':' : ''}${port}/${proto}`));
    }
  }
  return out;
}

/** NetworkSettings.Ports of a running container. */
export function toPortMap(published: PublishedPort[]): PortMap {
  const map: PortMap = {};
  for (const p of published) (map[`${p.containerPort}/${p.protocol}`] ??= [])!.push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  return map;
}
