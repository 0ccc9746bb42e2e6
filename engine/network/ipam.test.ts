import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatCIDR, formatIPv4, parseCIDR, parseIPv4 } from './cidr.js';
import { allocateAddress, defaultAddressPools, macForAddress, pickSubnet, validatePools } from './ipam.js';

test("docker's default pools: 172.17-31 as /16, then 192.168.0.0/16 as /20; the first free one is picked", () => {
  assert.equal(defaultAddressPools.length, 16);
  assert.equal(formatCIDR(pickSubnet(defaultAddressPools, [])), '172.17.0.0/16');
  const taken = [parseCIDR('172.17.0.0/16'), parseCIDR('172.18.5.0/24')];
  assert.equal(formatCIDR(pickSubnet(defaultAddressPools, taken)), '172.19.0.0/16');
  const all172 = [parseCIDR('172.16.0.0/12')];
  assert.equal(formatCIDR(pickSubnet(defaultAddressPools, all172)), '192.168.0.0/20');
  assert.throws(() => pickSubnet([{ base: '10.0.0.0/24', size: 24 }], [parseCIDR('10.0.0.0/8')]), /could not find an available, non-overlapping IPv4 address pool/);
  assert.throws(() => validatePools([{ base: '10.0.0.0/16', size: 8 }]), /size must be between 16 and 30/);
});

test('allocation: serial after the last, skipping the gateway and used ones, wrapping; --ip checks', () => {
  const subnet = parseCIDR('10.0.0.0/29'); // hosts .1-.6
  const ctx = (used: string[], lastIp?: string) => ({
    subnet,
    gateway: parseIPv4('10.0.0.1'),
    used: new Set(used.map(parseIPv4)),
    ...(lastIp ? { lastIp: parseIPv4(lastIp) } : {}),
    networkLabel: 'n (id)',
  });
  const ip = (c: ReturnType<typeof ctx>, req?: string) => formatIPv4(allocateAddress(c, req));
  assert.equal(ip(ctx([])), '10.0.0.2');
  assert.equal(ip(ctx(['10.0.0.2'], '10.0.0.2')), '10.0.0.3');
  assert.equal(ip(ctx([], '10.0.0.4')), '10.0.0.5', 'continues after the last handed out');
  assert.equal(ip(ctx(['10.0.0.3'], '10.0.0.6')), '10.0.0.2', 'wraps around');
  assert.throws(() => ip(ctx(['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'])), /no available IPv4 addresses on this network's address pools: n \(id\)/);
  assert.equal(ip(ctx([]), '10.0.0.6'), '10.0.0.6');
  assert.throws(() => ip(ctx([]), '10.0.0.1'), /Address already in use/);
  assert.throws(() => ip(ctx([]), '10.0.0.7'), /does not belong/, 'broadcast');
  assert.throws(() => ip(ctx([]), '10.0.1.2'), /does not belong/);
  assert.equal(macForAddress(parseIPv4('172.17.0.2')), '02:42:ac:11:00:02');
});
