import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeConfig, parseBind, planContainer } from './plan.js';

test('mergeConfig: docker\'s rules for Cmd and Entrypoint, Env, Labels, User, WorkingDir', () => {
  const image = { Env: ['PATH=/bin', 'A=1'], Cmd: ['sh'], Entrypoint: ['/entry'], Labels: { a: 'image' }, User: 'app', WorkingDir: '/srv', ExposedPorts: { '80/tcp': {} } };
  const plain = mergeConfig({ Image: 'x' }, image);
  assert.deepEqual([plain.Entrypoint, plain.Cmd, plain.User, plain.WorkingDir], [['/entry'], ['sh'], 'app', '/srv']);
  const cmd = mergeConfig({ Cmd: ['echo', 'hi'], Env: ['A=2', 'B=3'], Labels: { b: 'user' } }, image);
  assert.deepEqual([cmd.Entrypoint, cmd.Cmd], [['/entry'], ['echo', 'hi']]);
  assert.deepEqual(cmd.Env, ['A=2', 'B=3', 'PATH=/bin'], 'dockerd: the request\'s variables first, then the image\'s others');
  assert.deepEqual(cmd.Labels, { a: 'image', b: 'user' });
  // --entrypoint replaces the image's and drops its Cmd; --entrypoint "" clears it.
  const entry = mergeConfig({ Entrypoint: ['/other'] }, image);
  assert.deepEqual([entry.Entrypoint, entry.Cmd ?? null], [['/other'], null]);
  const cleared = mergeConfig({ Entrypoint: [''], Cmd: ['ls'] }, image);
  assert.deepEqual([cleared.Entrypoint, cleared.Cmd], [null, ['ls']]);
  assert.deepEqual(Object.keys(mergeConfig({ ExposedPorts: { '53/udp': {} } }, image).ExposedPorts ?? {}).sort(), ['53/udp', '80/tcp']);
});

test('parseBind: binds, named and anonymous volumes, modes, and docker\'s errors', () => {
  assert.deepEqual(parseBind('/host/dir:/ctr:ro'), { Type: 'bind', Source: '/host/dir', Destination: '/ctr', Mode: 'ro', RW: false, Propagation: 'rprivate' });
  assert.deepEqual(parseBind('data:/var/lib/data'), { Type: 'volume', Name: 'data', Source: '', Destination: '/var/lib/data', Driver: 'local', Mode: 'z', RW: true, Propagation: '' });
  assert.equal(parseBind('/anon').Type, 'volume');
  assert.equal(parseBind('/anon').Name, undefined);
  assert.throws(() => parseBind('data:relative'), /mount path must be absolute/);
  assert.throws(() => parseBind('/h:/c:bogus'), /invalid mode: bogus/);
  assert.throws(() => parseBind('x:/c'), /volume name is too short/);
  assert.throws(() => parseBind('bad$name:/c'), /includes invalid characters for a local volume name/);
});

test('planContainer: networks, restart policy checks, the image\'s VOLUMEs, duplicate mounts', () => {
  const plan = planContainer({ Image: 'x', Cmd: ['true'], HostConfig: { NetworkMode: 'default', Binds: ['/h:/data'] }, NetworkingConfig: { EndpointsConfig: { default: { Aliases: ['web'] } } } }, { Volumes: { '/cache': {} } });
  assert.deepEqual(plan.networks, { bridge: { aliases: ['web'] } });
  assert.equal(plan.hostConfig.NetworkMode, 'default', 'kept as the client sent it, as dockerd does');
  assert.equal(planContainer({ Image: 'x', Cmd: ['true'] }, {}).hostConfig.NetworkMode, 'default');
  assert.deepEqual(plan.mounts.map((m) => [m.Type, m.Destination]), [['bind', '/data'], ['volume', '/cache']]);
  assert.deepEqual([plan.path, plan.args], ['true', []]);
  assert.throws(() => planContainer({ Image: 'x', Cmd: ['true'], HostConfig: { AutoRemove: true, RestartPolicy: { Name: 'always' } } }, {}), /can't create 'AutoRemove' container with restart policy/);
  assert.throws(() => planContainer({ Image: 'x', Cmd: ['true'], HostConfig: { RestartPolicy: { Name: 'always', MaximumRetryCount: 3 } } }, {}), /maximum retry count can only be used with 'on-failure'/);
  assert.throws(() => planContainer({ Image: 'x', Cmd: ['true'], HostConfig: { Binds: ['/a:/d', '/b:/d'] } }, {}), /Duplicate mount point: \/d/);
  assert.throws(() => planContainer({ Image: 'x' }, {}), /No command specified/);
  assert.throws(() => planContainer({ Image: 'x', Cmd: ['true'], HostConfig: { LogConfig: { Type: 'syslog' } } }, {}), /no log driver named 'syslog'/);
});
