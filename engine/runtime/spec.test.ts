import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isRuntimeError } from './errors.js';
import { buildSpec, DEFAULT_PATH, mergeEnv, parseSize, parseTmpfs, parseVolume } from './spec.js';

const rootfs = [{ type: 'bind', source: '/x', options: ['rbind'] }];
const invalid = (re: RegExp) => (err: unknown) => isRuntimeError(err, 'invalid-spec') && re.test((err as Error).message);

test('docker defaults: hostname from the id, PATH, HOSTNAME, TERM with a tty, SIGTERM, 10 s, network none, caps, no_new_privs', () => {
  const s = buildSpec(rootfs, { Cmd: ['sh'] }, { tty: true });
  assert.match(s.id, /^[0-9a-f]{64}$/);
  assert.equal(s.hostname, s.id.slice(0, 12));
  assert.deepEqual(s.process.env, [`PATH=${DEFAULT_PATH}`, `HOSTNAME=${s.hostname}`, 'TERM=xterm']);
  assert.deepEqual(s.process.args, ['sh']);
  assert.equal(s.process.cwd, '/');
  assert.equal(s.process.user, '');
  assert.equal(s.stopSignal, 'SIGTERM');
  assert.equal(s.stopTimeout, 10);
  assert.deepEqual(s.network, { mode: 'none' });
  assert.equal(s.process.capabilities.length, 14);
  assert.equal(s.process.noNewPrivileges, true);
  assert.deepEqual(s.log, { maxFile: 1 });
  assert.equal(s.openStdin, false);
});

test('image config and run flags combine like docker run', () => {
  const image = { Env: ['PATH=/opt/bin', 'A=1'], Entrypoint: ['/entry'], Cmd: ['default'], WorkingDir: '/app', User: 'app', StopSignal: '9' };
  const s = buildSpec(rootfs, image, { env: ['A=2', 'B=3'], cmd: ['x', 'y'], interactive: true, memory: '64m', cpus: 0.5, cpuShares: 512, pidsLimit: 0, logOpts: { 'max-size': '10k', 'max-file': '3' }, volumes: ['/h:/c:ro'], tmpfs: ['/run:size=1m,exec'] });
  assert.deepEqual(s.process.args, ['/entry', 'x', 'y']);
  assert.ok(s.process.env.includes('PATH=/opt/bin') && s.process.env.includes('A=2') && s.process.env.includes('B=3'));
  assert.ok(!s.process.env.includes(`PATH=${DEFAULT_PATH}`));
  assert.equal(s.process.cwd, '/app');
  assert.equal(s.process.user, 'app');
  assert.equal(s.stopSignal, 'SIGKILL');
  assert.deepEqual(s.resources, { memory: 64 * 1024 * 1024, cpus: 0.5, cpuShares: 512 });
  assert.deepEqual(s.log, { maxSize: 10 * 1024, maxFile: 3 });
  assert.deepEqual(s.binds, [{ source: '/h', destination: '/c', readonly: true, propagation: 'rprivate' }]);
  assert.deepEqual(s.tmpfs, [{ destination: '/run', options: ['nosuid', 'nodev', 'size=1m', 'exec'] }]);
  assert.equal(s.openStdin && s.stdinOnce, true);
  assert.deepEqual(buildSpec(rootfs, image, { entrypoint: [] , cmd: ['ls'] }).process.args, ['ls']);
  assert.deepEqual(buildSpec(rootfs, image, { entrypoint: ['/other'] }).process.args, ['/other'], '--entrypoint drops the image Cmd');
  assert.equal(buildSpec(rootfs, {}, { cmd: ['a'], network: 'host' }).network.mode, 'host');
  assert.deepEqual(buildSpec(rootfs, {}, { cmd: ['a'], network: { netnsPath: '/run/netns/x' } }).network, { mode: 'netns', path: '/run/netns/x' });
});

test('bad flags get docker\'s messages', () => {
  assert.throws(() => buildSpec(rootfs, {}, {}), invalid(/No command specified/));
  assert.throws(() => buildSpec(rootfs, {}, { cmd: ['a'], memory: '1m' }), invalid(/Minimum memory limit allowed is 6MB/));
  assert.throws(() => buildSpec(rootfs, {}, { cmd: ['a'], memory: '64m', memorySwap: '32m' }), invalid(/larger than memory/));
  assert.throws(() => buildSpec(rootfs, {}, { cmd: ['a'], memorySwap: '32m' }), invalid(/always set the Memory limit/));
  assert.throws(() => buildSpec(rootfs, {}, { cmd: ['a'], cpus: 1000 }), invalid(/Range of CPUs is from 0.01/));
  assert.throws(() => buildSpec(rootfs, {}, { cmd: ['a'], workdir: 'rel' }), invalid(/needs to be an absolute path/));
  assert.throws(() => buildSpec(rootfs, {}, { cmd: ['a'], stopSignal: 'SIGNOPE' }), invalid(/Invalid signal: SIGNOPE/));
  assert.throws(() => buildSpec(rootfs, {}, { cmd: ['a'], hostname: 'bad_host!' }), invalid(/invalid hostname/));
  assert.throws(() => buildSpec(rootfs, {}, { cmd: ['a'], capAdd: ['NOT_A_CAP'] }), invalid(/unknown capability/));
  assert.throws(() => buildSpec(rootfs, {}, { cmd: ['a'], volumes: ['/a:/d', '/b:/d'] }), invalid(/Duplicate mount point: \/d/));
  assert.throws(() => buildSpec(rootfs, {}, { cmd: ['a'], logOpts: { 'max-file': '2' } }), invalid(/max-file can't be set without max-size/));
  assert.throws(() => buildSpec(rootfs, {}, { cmd: ['a'], id: 'short' }), invalid(/invalid container id/));
  assert.throws(() => parseVolume('named:/data'), invalid(/named volumes are not supported/));
  assert.throws(() => parseVolume('/h:rel'), invalid(/must be absolute/));
  assert.throws(() => parseVolume('/h:/'), invalid(/destination can't be '\/'/));
  assert.throws(() => parseVolume('/h:/d:bogus'), invalid(/invalid mode: bogus/));
  assert.throws(() => parseTmpfs('rel'), invalid(/must be absolute/));
});

test('sizes and env merging', () => {
  assert.equal(parseSize('64m', 'x'), 64 * 1024 * 1024);
  assert.equal(parseSize('1g', 'x'), 1024 ** 3);
  assert.equal(parseSize('512KB', 'x'), 512 * 1024);
  assert.equal(parseSize('100', 'x'), 100);
  assert.equal(parseSize(4096, 'x'), 4096);
  assert.throws(() => parseSize('lots', 'x'), invalid(/invalid size/));
  assert.deepEqual(mergeEnv(['A=1', 'B=2'], ['B=3', 'C=4'], undefined, ['A=5']), ['A=5', 'B=3', 'C=4']);
});
