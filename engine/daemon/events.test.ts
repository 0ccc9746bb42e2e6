import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyChanges } from './containers/changes.js';
import { EventLog, parseEventTime } from './events.js';

test('events: dockerd\'s shape, strictly increasing times, replay since a time, live listeners', () => {
  const log = new EventLog();
  const seen: string[] = [];
  const stop = log.subscribe((e) => seen.push(e.Action));
  const a = log.emit('container', 'start', 'abc', { image: 'busybox', name: 'x' });
  const b = log.emit('network', 'connect', 'net1', { container: 'abc' });
  stop();
  log.emit('container', 'die', 'abc', { exitCode: '3' });
  assert.deepEqual(seen, ['start', 'connect']);
  assert.equal(a.status, 'start');
  assert.equal(a.id, 'abc');
  assert.equal(a.from, 'busybox');
  assert.equal(b.status, undefined, 'only containers and images carry the old fields');
  assert.ok(b.timeNano > a.timeNano);
  assert.equal(a.time, Math.floor(a.timeNano / 1e9));
  assert.deepEqual(log.since(b.timeNano).map((e) => e.Action), ['connect', 'die']);
});

test('event times stay strictly increasing over many events in the same milliseconds', () => {
  const log = new EventLog();
  let last = 0;
  for (let i = 0; i < 20_000; i++) {
    const { timeNano } = log.emit('container', 'exec_create', 'abc');
    assert.ok(timeNano > last, `event ${i}: ${timeNano} is not after ${last}`);
    last = timeNano;
  }
});

test('event times: unix seconds with a fraction, RFC 3339, durations ago', () => {
  assert.equal(parseEventTime('1700000000'), 1_700_000_000e9);
  assert.equal(parseEventTime('1700000000.5'), 1_700_000_000e9 + 500_000_000);
  assert.equal(parseEventTime('2024-01-01T00:00:00Z'), Date.parse('2024-01-01T00:00:00Z') * 1e6);
  assert.equal(parseEventTime('10m', 1_000_000), (1_000_000 - 600_000) * 1e6);
  assert.throws(() => parseEventTime('yesterday'), /failed to parse value yesterday as a time/);
});

test('commit --change: CMD, ENTRYPOINT (JSON and shell form), ENV, LABEL, EXPOSE, USER, WORKDIR, VOLUME', () => {
  const out = applyChanges({ Env: ['A=1'], Labels: { x: '1' } }, ['CMD ["echo", "hi"]', 'ENTRYPOINT run me', 'ENV A=2 B="two words"', 'LABEL y=2', 'EXPOSE 80 53/udp', 'USER app', 'WORKDIR /srv', 'VOLUME ["/data"]']);
  assert.deepEqual(out.Cmd, ['echo', 'hi']);
  assert.deepEqual(out.Entrypoint, ['/bin/sh', '-c', 'run me']);
  assert.deepEqual(out.Env, ['A=2', 'B=two words']);
  assert.deepEqual(out.Labels, { x: '1', y: '2' });
  assert.deepEqual(Object.keys(out.ExposedPorts ?? {}), ['80/tcp', '53/udp']);
  assert.deepEqual([out.User, out.WorkingDir, Object.keys(out.Volumes ?? {})], ['app', '/srv', ['/data']]);
  assert.throws(() => applyChanges({}, ['RUN rm -rf /']), /RUN is not a valid change command/);
});
