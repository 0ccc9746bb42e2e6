/**
 * The fields `docker ps` shows for a container (its table columns and what `--format` templates
 * see), computed from GET /containers/json as docker's formatter computes them: 12-digit IDs,
 * the quoted and shortened COMMAND, "2 minutes ago", grouped PORTS, the first name.
 */
import { familiarName, parseImageReference } from '../../../shared/reference.js';
import type { Row } from './row-format.js';
import { ellipsis, goQuote } from './go-quote.js';
import { createdSince, goTimeString, humanSizeWithPrecision } from './units.js';

export interface PortSummary {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

export interface ContainerSummary {
  Id: string;
  Names?: string[] | null;
  Image?: string;
  ImageID?: string;
  Command?: string;
  Created: number;
  Ports?: PortSummary[] | null;
  Labels?: Record<string, string> | null;
  State?: string;
  Status?: string;
  SizeRw?: number;
  SizeRootFs?: number;
  Mounts?: Array<{ Name?: string; Source?: string; Driver?: string }> | null;
  NetworkSettings?: { Networks?: Record<string, unknown> | null } | null;
}

export const containerColumns: Row = {
  ID: 'CONTAINER ID',
  Names: 'NAMES',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedAt: 'CREATED AT',
  RunningFor: 'CREATED',
  Ports: 'PORTS',
  State: 'STATE',
  Status: 'STATUS',
  Size: 'SIZE',
  Labels: 'LABELS',
  Mounts: 'MOUNTS',
  LocalVolumes: 'LOCAL VOLUMES',
  Networks: 'NETWORKS',
  Platform: 'PLATFORM',
};

export const defaultContainerTable = 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}';

export function truncateId(id: string): string {
  return id.replace(/^[a-z0-9]+:/, '').slice(0, 12);
}

function names(summary: ContainerSummary, trunc: boolean): string {
  const all = (summary.Names ?? []).map((n) => n.replace(/^\//, ''));
  // Truncated: only the container's own name, not legacy link names (`other/alias`).
  if (trunc) return all.find((n) => !n.includes('/')) ?? '';
  return all.join(',');
}

function image(summary: ContainerSummary, trunc: boolean): string {
  const text = summary.Image ?? '';
  if (text === '') return '<no image>';
  if (!trunc) return text;
  if (summary.ImageID && truncateId(summary.ImageID) === truncateId(text)) return truncateId(text);
  try {
    const ref = parseImageReference(text, { defaultTag: '' });
    return `${familiarName(ref)}${ref.tag ? `:${ref.tag}` : ''}`;
  } catch {
    return text;
  }
}

const joinHostPort = (host: string, port: string) => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

/** docker's DisplayablePorts: `0.0.0.0:8080->80/tcp, 9000-9001/udp`. */
export function displayablePorts(input: PortSummary[]): string {
  const ports = [...input].sort(
    (a, b) =>
      a.PrivatePort - b.PrivatePort ||
      (a.IP ?? '').localeCompare(b.IP ?? '') ||
      (a.PublicPort ?? 0) - (b.PublicPort ?? 0) ||
      a.Type.localeCompare(b.Type),
  );
  const groups = new Map<string, { first: number; last: number }>();
  const result: string[] = [];
  const hostMappings: string[] = [];
  const formGroup = (key: string, first: number, last: number) => {
    const slash = key.lastIndexOf('/');
    const ip = slash < 0 ? '' : key.slice(0, slash);
    const type = slash < 0 ? key : key.slice(slash + 1);
    let group = first === last ? String(first) : `${first}-${last}`;
    if (ip !== '') group = `${joinHostPort(ip, group)}->${group}`;
    return `${group}/${type}`;
  };
  for (const port of ports) {
    const current = port.PrivatePort;
    let key = port.Type;
    if (port.IP) {
      if (port.PublicPort !== current) {
        hostMappings.push(`${joinHostPort(port.IP, String(port.PublicPort ?? 0))}->${current}/${port.Type}`);
        continue;
      }
      key = `${port.IP}/${port.Type}`;
    }
    const group = groups.get(key);
    if (!group) {
      groups.set(key, { first: current, last: current });
      continue;
    }
    if (current === group.last + 1) {
      group.last = current;
      continue;
    }
    result.push(formGroup(key, group.first, group.last));
    groups.set(key, { first: current, last: current });
  }
  for (const [key, group] of groups) result.push(formGroup(key, group.first, group.last));
  return [...result, ...hostMappings].join(', ');
}

function size(summary: ContainerSummary): string {
  const rw = humanSizeWithPrecision(summary.SizeRw ?? 0, 3);
  return (summary.SizeRootFs ?? 0) > 0 ? `${rw} (virtual ${humanSizeWithPrecision(summary.SizeRootFs!, 3)})` : rw;
}

export function containerRow(summary: ContainerSummary, trunc: boolean, now = Date.now()): Row {
  const command = summary.Command ?? '';
  const labels = Object.entries(summary.Labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .sort();
  const mounts = (summary.Mounts ?? []).map((m) => {
    const name = m.Name ? m.Name : (m.Source ?? '');
    return trunc ? ellipsis(name, 15) : name;
  });
  return {
    ID: trunc ? truncateId(summary.Id) : summary.Id,
    Names: names(summary, trunc),
    Image: image(summary, trunc),
    Command: goQuote(trunc ? ellipsis(command, 20) : command),
    CreatedAt: goTimeString(summary.Created),
    RunningFor: createdSince(summary.Created, now),
    Ports: displayablePorts(summary.Ports ?? []),
    State: summary.State ?? '',
    Status: summary.Status ?? '',
    Size: size(summary),
    Labels: labels.join(','),
    Mounts: mounts.join(','),
    LocalVolumes: String((summary.Mounts ?? []).filter((m) => m.Driver === 'local').length),
    Networks: Object.keys(summary.NetworkSettings?.Networks ?? {}).join(','),
    Platform: null,
  };
}
