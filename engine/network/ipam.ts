/**
 * Address management, as docker's default IPAM: a network's subnet is given or taken from the
 * default address pools (the first one that overlaps no other network and no host route); a
 * container's address is the next free one after the last handed out, wrapping around, so a
 * released address is not reused at once (stale ARP entries elsewhere would point at it).
 * Pure functions over the state; the manager persists what they return.
 */
import { TsdError } from '../../shared/errors.js';
import { formatIPv4, hostRange, overlaps, parseCIDR, parseIPv4, split, contains, type Subnet } from './cidr.js';

/** dockerd's `default-address-pools` entries: split `base` into subnets of prefix `size`. */
export interface AddressPool {
  base: string;
  size: number;
}

/** docker's built-in defaults: 172.17-31.0.0/16, then 192.168.0.0/16 in /20s. */
export const defaultAddressPools: AddressPool[] = [
  ...Array.from({ length: 15 }, (_, i) => ({ base: `172.${17 + i}.0.0/16`, size: 16 })),
  { base: '192.168.0.0/16', size: 20 },
];

export function validatePools(pools: AddressPool[]): void {
  for (const p of pools) {
    const base = parseCIDR(p.base);
    if (!Number.isInteger(p.size) || p.size < base.prefixLen || p.size > 30) {
      throw new TsdError('CONFIG_INVALID', `invalid default address pool ${p.base} size ${p.size}: size must be between ${base.prefixLen} and 30`);
    }
  }
}

/** The first subnet of the pools that overlaps none of `taken`. */
export function pickSubnet(pools: AddressPool[], taken: Subnet[]): Subnet {
  for (const pool of pools) {
    for (const candidate of split(parseCIDR(pool.base), pool.size)) {
      if (!taken.some((t) => overlaps(t, candidate))) return candidate;
    }
  }
  throw new TsdError('INVALID_ARGUMENT', 'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
}

/** The gateway docker gives a subnet: its first host address. */
export function defaultGateway(subnet: Subnet): number {
  return hostRange(subnet).first;
}

export interface AllocationContext {
  subnet: Subnet;
  gateway: number;
  /** Addresses in use (the gateway is always treated as used). */
  used: Set<number>;
  lastIp?: number;
  /** For the error message: `name (id)`. */
  networkLabel: string;
}

/** Take `requested` (docker's `--ip`) or the next free address after `lastIp`. */
export function allocateAddress(ctx: AllocationContext, requested?: string): number {
  const { first, last } = hostRange(ctx.subnet);
  const taken = (ip: number) => ip === ctx.gateway || ctx.used.has(ip);
  if (requested !== undefined) {
    const ip = parseIPv4(requested);
    if (!contains(ctx.subnet, ip) || ip < first || ip > last) {
      throw new TsdError('INVALID_ARGUMENT', `invalid address ${requested}: it does not belong to any of this network's subnets`);
    }
    if (taken(ip)) throw new TsdError('ALREADY_EXISTS', `Address already in use: ${requested}`);
    return ip;
  }
  const count = last - first + 1;
  const start = ctx.lastIp !== undefined && ctx.lastIp >= first && ctx.lastIp < last ? ctx.lastIp + 1 : first;
  for (let i = 0; i < count; i++) {
    const ip = first + ((start - first + i) % count);
    if (!taken(ip)) return ip;
  }
  throw new TsdError('INVALID_ARGUMENT', `no available IPv4 addresses on this network's address pools: ${ctx.networkLabel}`);
}

/** docker's MAC for an address: 02:42 followed by the four address bytes. */
export function macForAddress(ip: number): string {
  return ['02', '42', ...formatIPv4(ip).split('.').map((b) => Number(b).toString(16).padStart(2, '0'))].join(':');
}
