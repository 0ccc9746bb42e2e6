import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostsFile, resolvConf } from './etc-files.js';
import { signalName, signalNumber } from './signals.js';

test('/etc/hosts: docker defaults, --add-host, the container address; host networking copies the host file', () => {
  const h = hostsFile({ hostname: 'abc', network: { mode: 'none' }, extraHosts: ['db:10.0.0.5'] });
  assert.equal(h.split('\n')[0], '127.0.0.1\tlocalhost');
  assert.match(h, /::1\tlocalhost ip6-localhost ip6-loopback\n/);
  assert.match(h, /10\.0\.0\.5\tdb\n$/);
  assert.match(hostsFile({ hostname: 'abc', network: { mode: 'netns', path: '/x' }, extraHosts: [], address: '172.18.0.2' }), /172\.18\.0\.2\tabc\n$/);
  assert.equal(hostsFile({ hostname: 'h', network: { mode: 'host' }, extraHosts: [], hostHosts: '127.0.0.1 localhost\n10.1.1.1 me\n\n' }), '127.0.0.1 localhost\n10.1.1.1 me\n');
  assert.throws(() => hostsFile({ hostname: 'h', network: { mode: 'none' }, extraHosts: ['nocolon'] }), /must be name:ip/);
});

test('/etc/resolv.conf: loopback servers dropped outside host networking, Google fallback, --dns', () => {
  const host = 'search corp\nnameserver 127.0.0.53\noptions edns0\n';
  assert.equal(resolvConf(host, { mode: 'none' }), 'search corp\noptions edns0\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  assert.equal(resolvConf(host, { mode: 'host' }), host);
  assert.equal(resolvConf('nameserver 10.0.0.2\nnameserver ::1\n', { mode: 'none' }), 'nameserver 10.0.0.2\n');
  assert.equal(resolvConf(host, { mode: 'none' }, ['1.1.1.1']), 'search corp\noptions edns0\nnameserver 1.1.1.1\n');
});

test('signals by name, short name and number', () => {
  assert.equal(signalNumber('SIGTERM'), 15);
  assert.equal(signalNumber('term'), 15);
  assert.equal(signalNumber('9'), 9);
  assert.equal(signalNumber('SIGRTMIN+3'), 37);
  assert.equal(signalNumber('SIGNOPE'), undefined);
  assert.equal(signalNumber('0'), undefined);
  assert.equal(signalName(10), 'SIGUSR1');
});
