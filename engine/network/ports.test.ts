import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromPortMap, parsePublish, toPortMap } from './ports.js';

const b = (containerPort: number, hostPort: number, hostIp = '0.0.0.0', protocol: 'tcp' | 'udp' = 'tcp') => ({ containerPort, protocol, hostIp, hostPort });

test("docker's -p forms", () => {
  assert.deepEqual(parsePublish('80'), [b(80, 0)]);
  assert.deepEqual(parsePublish('8080:80'), [b(80, 8080)]);
  assert.deepEqual(parsePublish('127.0.0.1:8080:80'), [b(80, 8080, '127.0.0.1')]);
  assert.deepEqual(parsePublish('127.0.0.1::80/udp'), [b(80, 0, '127.0.0.1', 'udp')]);
  assert.deepEqual(parsePublish('53:53/UDP'), [b(53, 53, '0.0.0.0', 'udp')]);
  assert.deepEqual(parsePublish('8000-8001:80-81'), [b(80, 8000), b(81, 8001)]);
  assert.deepEqual(parsePublish('80-81'), [b(80, 0), b(81, 0)]);
  assert.deepEqual(parsePublish('8000-8010:80'), [{ ...b(80, 8000), hostPortEnd: 8010 }]);
});

test('-p errors as docker words them', () => {
  assert.throws(() => parsePublish('abc'), { message: 'invalid containerPort: abc' });
  assert.throws(() => parsePublish('x:80'), { message: 'invalid hostPort: x' });
  assert.throws(() => parsePublish('80/icmp'), { message: 'invalid proto: icmp' });
  assert.throws(() => parsePublish('8000-8002:80-81'), { message: 'invalid ranges specified for container and host Ports: 80-81 and 8000-8002' });
  assert.throws(() => parsePublish('1.2.3:80:80'), { message: 'invalid IP address: 1.2.3' });
  assert.throws(() => parsePublish('70000:80'), { message: 'invalid hostPort: 70000' });
  assert.throws(() => parsePublish('0'), { message: 'invalid containerPort: 0' });
  assert.throws(() => parsePublish('[::1]:80:80'), /IPv6 host addresses are not supported/);
});

test('the Engine API PortBindings map both ways', () => {
  assert.deepEqual(fromPortMap({ '80/tcp': [{ HostIp: '', HostPort: '8080' }], '53/udp': [{ HostIp: '127.0.0.1', HostPort: '' }], '443/tcp': null }), [
    b(80, 8080),
    b(53, 0, '127.0.0.1', 'udp'),
    b(443, 0),
  ]);
  assert.deepEqual(toPortMap([b(80, 8080), b(80, 8081, '127.0.0.1')]), { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }, { HostIp: '127.0.0.1', HostPort: '8081' }] });
});
