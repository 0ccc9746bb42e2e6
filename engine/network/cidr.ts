/**
 * IPv4 addresses and CIDR subnets as numbers: parse, format, contain, overlap. Pure functions;
 * every address that reaches an `ip` or `iptables` argument was parsed and formatted here.
 */
import { TsdError } from '../../shared/errors.js';

export interface Subnet {
  /** The network address (host bits zero), as an unsigned 32-bit number. */
  base: number;
  prefixLen: number;
}

const octet = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

export function parseIPv4(text: string): number {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((p) => !octet.test(p))) throw new TsdError('INVALID_ARGUMENT', `invalid IPv4 address: ${text}`);
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function isIPv4(text: string): boolean {
  try {
    parseIPv4(text);
    return true;
  } catch {
    return false;
  }
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function mask(prefixLen: number): number {
  return prefixLen === 0 ? 0 : (0xffffffff << (32 - prefixLen)) >>> 0;
}

export function size(s: Subnet): number {
  return 2 ** (32 - s.prefixLen);
}

/**
 * `10.1.2.0/24`. With `strict` (docker's `--subnet`), host bits must be zero; otherwise the address
 * is kept as well (a `--bip` like `172.17.0.1/16` names the gateway and its subnet).
 */
export function parseCIDR(text: string, strict = true): Subnet & { address: number } {
  const slash = text.indexOf('/');
  const bad = () => new TsdError('INVALID_ARGUMENT', `invalid CIDR address: ${text}`);
  if (slash < 0) throw bad();
  const lenText = text.slice(slash + 1);
  if (!/^(3[0-2]|[12]?\d)$/.test(lenText)) throw bad();
  let address: number;
  try {
    address = parseIPv4(text.slice(0, slash));
  } catch {
    throw bad();
  }
  const prefixLen = Number(lenText);
  const base = (address & mask(prefixLen)) >>> 0;
  if (strict && base !== address) {
    throw new TsdError('INVALID_ARGUMENT', `invalid subnet ${text}: it should be ${formatIPv4(base)}/${prefixLen}`);
  }
  return { base, prefixLen, address };
}

export function formatCIDR(s: Subnet): string {
  return `${formatIPv4(s.base)}/${s.prefixLen}`;
}

export function contains(s: Subnet, ip: number): boolean {
  return ((ip & mask(s.prefixLen)) >>> 0) === s.base;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const len = Math.min(a.prefixLen, b.prefixLen);
  return ((a.base & mask(len)) >>> 0) === ((b.base & mask(len)) >>> 0);
}

/** The subnets of `size` prefix that make up `pool`, in address order. */
export function* split(pool: Subnet, prefixLen: number): Generator<Subnet> {
  if (prefixLen < pool.prefixLen) return;
  const step = 2 ** (32 - prefixLen);
  for (let base = pool.base; base < pool.base + size(pool); base += step) yield { base, prefixLen };
}

/** The first and last addresses a host may use (network and broadcast excluded where they exist). */
export function hostRange(s: Subnet): { first: number; last: number } {
  if (s.prefixLen >= 31) return { first: s.base, last: s.base + size(s) - 1 };
  return { first: s.base + 1, last: s.base + size(s) - 2 };
}
