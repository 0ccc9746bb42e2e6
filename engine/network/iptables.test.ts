import assert from 'node:assert/strict';
import { test } from 'node:test';
import { networkRules, portRules, splitRuleLine } from './iptables.js';

test('iptables -S lines split with quoted words kept whole', () => {
  assert.deepEqual(splitRuleLine('-A POSTROUTING -s 10.0.0.0/24 ! -o br-x -m comment --comment "tsdocker:abc" -j MASQUERADE'), [
    '-A', 'POSTROUTING', '-s', '10.0.0.0/24', '!', '-o', 'br-x', '-m', 'comment', '--comment', 'tsdocker:abc', '-j', 'MASQUERADE',
  ]);
  assert.deepEqual(splitRuleLine('-A X --comment "a \\"b\\" c" -j ACCEPT'), ['-A', 'X', '--comment', 'a "b" c', '-j', 'ACCEPT']);
});

test('rule sets: NAT only when masquerading and not internal; loopback host addresses get no DNAT', () => {
  const nat = (r: ReturnType<typeof networkRules>) => r.filter((x) => x.table === 'nat').length;
  assert.equal(nat(networkRules({ bridge: 'b', subnet: '10.0.0.0/24', internal: false, masquerade: true })), 1);
  assert.equal(nat(networkRules({ bridge: 'b', subnet: '10.0.0.0/24', internal: false, masquerade: false })), 0);
  assert.equal(nat(networkRules({ bridge: 'b', subnet: '10.0.0.0/24', internal: true, masquerade: true })), 0);
  const p = { bridge: 'b', protocol: 'tcp' as const, hostPort: 8080, containerIp: '10.0.0.2', containerPort: 80 };
  assert.equal(portRules({ ...p, hostIp: '0.0.0.0' }).filter((r) => r.spec.includes('DNAT')).length, 2);
  assert.equal(portRules({ ...p, hostIp: '127.0.0.1' }).filter((r) => r.spec.includes('DNAT')).length, 0);
  assert.ok(portRules({ ...p, hostIp: '192.0.2.5' }).every((r) => !r.spec.includes('DNAT') || r.spec.includes('192.0.2.5/32')));
});
