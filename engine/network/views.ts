/**
 * The Engine API's JSON shapes built from the state: `docker network inspect` / `ls`, and a
 * container's `NetworkSettings.Networks[name]` entry.
 */
import type { EndpointRecord, NetworkRecord } from './state.js';

export interface NetworkInspect {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: string;
  EnableIPv6: boolean;
  IPAM: { Driver: 'default'; Options: Record<string, string> | null; Config: Array<{ Subnet: string; Gateway: string }> };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export interface EndpointSettings {
  IPAMConfig: { IPv4Address: string } | null;
  Links: null;
  Aliases: string[] | null;
  MacAddress: string;
  DriverOpts: null;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DNSNames: string[] | null;
}

export function prefixLenOf(n: NetworkRecord): number {
  return n.subnet === undefined ? 0 : Number(n.subnet.split('/')[1]);
}

export function networkInspect(n: NetworkRecord): NetworkInspect {
  const containers: NetworkInspect['Containers'] = {};
  for (const e of Object.values(n.endpoints)) {
    containers[e.containerId] = {
      Name: e.name,
      EndpointID: e.endpointId,
      MacAddress: e.mac ?? '',
      IPv4Address: e.ip === undefined ? '' : `${e.ip}/${prefixLenOf(n)}`,
      IPv6Address: '',
    };
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: 'local',
    Driver: n.driver,
    EnableIPv6: false,
    IPAM: {
      Driver: 'default',
      Options: n.driver === 'bridge' && !n.predefined ? {} : null,
      Config: n.subnet === undefined ? [] : [{ Subnet: n.subnet, Gateway: n.gateway ?? '' }],
    },
    Internal: n.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: { ...n.options },
    Labels: { ...n.labels },
  };
}

/** Names other containers on a user-defined network resolve this one by. */
export function dnsNames(n: NetworkRecord, e: EndpointRecord): string[] {
  if (n.driver !== 'bridge' || n.predefined) return [];
  return [...new Set([e.name, ...e.aliases, e.containerId.slice(0, 12), ...(e.hostname ? [e.hostname] : [])].filter((x) => x !== ''))];
}

export function endpointSettings(n: NetworkRecord, e: EndpointRecord): EndpointSettings {
  const names = dnsNames(n, e);
  return {
    IPAMConfig: e.requestedIp ? { IPv4Address: e.requestedIp } : null,
    Links: null,
    Aliases: e.aliases.length > 0 ? [...e.aliases] : null,
    MacAddress: e.mac ?? '',
    DriverOpts: null,
    NetworkID: n.id,
    EndpointID: e.endpointId,
    Gateway: e.ip !== undefined && !n.internal ? (n.gateway ?? '') : '',
    IPAddress: e.ip ?? '',
    IPPrefixLen: e.ip === undefined ? 0 : prefixLenOf(n),
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    DNSNames: names.length > 0 ? names : null,
  };
}
