import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contains, formatCIDR, formatIPv4, hostRange, overlaps, parseCIDR, parseIPv4, split } from './cidr.js';

test('IPv4 parse and format round-trip; bad addresses are refused', () => {
  for (const a of ['0.0.0.0', '10.1.2.3', '255.255.255.255', '172.17.0.1']) assert.equal(formatIPv4(parseIPv4(a)), a);
  for (const a of ['256.1.1.1', '1.2.3', '01.2.3.4', '1.2.3.4.5', 'a.b.c.d', '', ' 1.2.3.4']) assert.throws(() => parseIPv4(a), /invalid IPv4 address/);
});

test('CIDR: strict subnets, --bip style addresses, containment, overlap, split, host range', () => {
  assert.deepEqual(parseCIDR('10.1.2.0/24'), { base: parseIPv4('10.1.2.0'), prefixLen: 24, address: parseIPv4('10.1.2.0') });
  assert.throws(() => parseCIDR('10.1.2.1/24'), /it should be 10\.1\.2\.0\/24/);
  assert.equal(parseCIDR('172.17.0.1/16', false).address, parseIPv4('172.17.0.1'));
  for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/-1', 'x/8', '10.0.0.0/']) assert.throws(() => parseCIDR(bad), /invalid CIDR address/);
  const s = parseCIDR('192.168.0.0/20');
  assert.ok(contains(s, parseIPv4('192.168.15.255')));
  assert.ok(!contains(s, parseIPv4('192.168.16.0')));
  assert.ok(overlaps(parseCIDR('10.0.0.0/8'), parseCIDR('10.200.0.0/16')));
  assert.ok(!overlaps(parseCIDR('10.0.0.0/24'), parseCIDR('10.0.1.0/24')));
  assert.deepEqual([...split(parseCIDR('10.0.0.0/22'), 24)].map(formatCIDR), ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24', '10.0.3.0/24']);
  assert.deepEqual([...split(parseCIDR('10.0.0.0/24'), 16)], []);
  const r = hostRange(parseCIDR('10.0.0.0/29'));
  assert.deepEqual([formatIPv4(r.first), formatIPv4(r.last)], ['10.0.0.1', '10.0.0.6']);
  assert.equal(formatCIDR({ base: parseIPv4('0.0.0.0'), prefixLen: 0 }), '0.0.0.0/0');
  assert.ok(contains(parseCIDR('0.0.0.0/0'), parseIPv4('203.0.113.9')));
});
