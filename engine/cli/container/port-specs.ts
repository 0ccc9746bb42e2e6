/**
 * `-p/--publish [ip:][hostPort:]containerPort[/proto]` (ranges allowed, `[v6]:` addresses) and the
 * long form `published=8080,target=80,protocol=udp`, turned into the create request's
 * ExposedPorts and PortBindings as docker's nat package does, with its messages.
 */
import { isIP } from 'node:net';
import { CliError } from '../cli-error.js';

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

export interface PublishedPorts {
  exposed: Record<string, Record<string, never>>;
  bindings: Record<string, PortBinding[]>;
}

function portRange(text: string): [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535 || end < start) return undefined;
  return [start, end];
}

function splitParts(spec: string): [string, string, string] {
  const parts = spec.split(':');
  const n = parts.length;
  if (n === 1) return ['', '', parts[0]!];
  if (n === 2) return ['', parts[0]!, parts[1]!];
  return [parts.slice(0, n - 2).join(':'), parts[n - 2]!, parts[n - 1]!];
}

function splitProto(text: string): [string, string] {
  const parts = text.split('/');
  if (text === '' || parts[0] === '') return ['', ''];
  if (parts.length === 1) return ['tcp', text];
  if (parts[1] === '') return ['tcp', parts[0]!];
  return [parts[1]!, parts[0]!];
}

/** The long syntax `target=80,published=8080,protocol=tcp` as the short one. */
function standardNotation(spec: string): string {
  if (!spec.includes('=')) return spec;
  const fields: Record<string, string> = {};
  for (const pair of spec.split(',')) {
    const eq = pair.indexOf('=');
    if (eq < 0) throw new CliError(`invalid publish opts format (should be name=value but got '${pair}')`);
    fields[pair.slice(0, eq).trim().toLowerCase()] = pair.slice(eq + 1).trim();
  }
  if (!fields.target) throw new CliError('Missing required field: target');
  return `${fields.published ? `${fields.published}:` : ''}${fields.target}/${fields.protocol ?? 'tcp'}`;
}

export function parsePublish(specs: string[]): PublishedPorts {
  const result: PublishedPorts = { exposed: {}, bindings: {} };
  for (const raw of specs.map(standardNotation)) {
    let [ip, hostPort, containerPart] = splitParts(raw);
    const [proto, containerPort] = splitProto(containerPart);
    if (ip.startsWith('[')) {
      const m = /^\[([^\]]*)\]$/.exec(ip);
      if (!m) throw new CliError(`invalid IP address ${ip}: address ${ip}:: missing ']' in address`);
      ip = m[1]!;
    }
    if (ip !== '' && isIP(ip) === 0) throw new CliError(`invalid IP address: ${ip}`);
    if (containerPort === '') throw new CliError(`no port specified: ${raw}<empty>`);
    const container = portRange(containerPort);
    if (!container) throw new CliError(`invalid containerPort: ${containerPort}`);
    let host: [number, number] = [0, 0];
    if (hostPort !== '') {
      const parsed = portRange(hostPort);
      if (!parsed) throw new CliError(`invalid hostPort: ${hostPort}`);
      host = parsed;
    }
    if (hostPort !== '' && container[1] - container[0] !== host[1] - host[0] && container[1] !== container[0]) {
      throw new CliError(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
    }
    const protocol = proto.toLowerCase();
    if (!['tcp', 'udp', 'sctp'].includes(protocol)) throw new CliError(`invalid proto: ${proto}`);
    for (let i = 0; i <= container[1] - container[0]; i++) {
      const key = `${container[0] + i}/${protocol}`;
      let published = hostPort === '' ? '' : String(host[0] + i);
      // One container port and a host range: the daemon picks a free port in that range.
      if (container[0] === container[1] && host[0] !== host[1]) published = `${published}-${host[1]}`;
      result.exposed[key] = {};
      (result.bindings[key] ??= []).push({ HostIp: ip, HostPort: published });
    }
  }
  return result;
}

/** `--expose 80` / `--expose 7000-7002/udp`: more exposed ports, never published. */
export function addExposed(ports: PublishedPorts, specs: string[]): void {
  for (const spec of specs) {
    if (spec.includes(':')) throw new CliError(`invalid port format for --expose: ${spec}`);
    const [proto, port] = splitProto(spec);
    const range = portRange(port);
    if (!range) throw new CliError(`invalid range format for --expose: ${spec}, error: invalid start port '${port}'`);
    for (let p = range[0]; p <= range[1]; p++) ports.exposed[`${p}/${proto.toLowerCase()}`] ??= {};
  }
}
