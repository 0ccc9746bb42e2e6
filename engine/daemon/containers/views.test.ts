import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nextDelay, shouldRestart } from './restart-policy.js';
import { parsePs } from './top.js';
import { humanDuration, statusText } from './views.js';

test('humanDuration and the ps Status column, as docker words them', () => {
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(42_000), '42 seconds');
  assert.equal(humanDuration(61_000), 'About a minute');
  assert.equal(humanDuration(5 * 60_000), '5 minutes');
  assert.equal(humanDuration(3_600_000), 'About an hour');
  assert.equal(humanDuration(5 * 3_600_000), '5 hours');
  assert.equal(humanDuration(3 * 86_400_000), '3 days');
  const now = Date.parse('2024-01-01T00:01:00Z');
  const live = (state: object, restarting = false) => ({ state: { id: 'x', status: 'exited', ...state } as never, restarting, removing: false });
  assert.equal(statusText(live({ status: 'running', startedAt: '2024-01-01T00:00:58Z' }), now), 'Up 2 seconds');
  const ran = { startedAt: '2024-01-01T00:00:50Z' };
  assert.equal(statusText(live({ ...ran, exitCode: 3, finishedAt: '2024-01-01T00:00:57Z' }), now), 'Exited (3) 3 seconds ago');
  assert.equal(statusText(live({ status: 'created' }), now), 'Created');
  // A start that failed: dockerd keeps it "created", the exit code in its state.
  assert.equal(statusText(live({ exitCode: 127, finishedAt: '2024-01-01T00:00:57Z', error: 'exec failed' }), now), 'Created');
  assert.equal(statusText(live({ ...ran, exitCode: 1, finishedAt: '2024-01-01T00:00:59Z' }, true), now), 'Restarting (1) 1 second ago');
});

test('restart policies and their backoff', () => {
  assert.equal(shouldRestart({ Name: 'always' }, 0, 5, false), true);
  assert.equal(shouldRestart({ Name: 'always' }, 0, 5, true), false);
  assert.equal(shouldRestart({ Name: 'unless-stopped' }, 1, 0, false), true);
  assert.equal(shouldRestart({ Name: 'on-failure', MaximumRetryCount: 2 }, 1, 1, false), true);
  assert.equal(shouldRestart({ Name: 'on-failure', MaximumRetryCount: 2 }, 1, 2, false), false);
  assert.equal(shouldRestart({ Name: 'on-failure', MaximumRetryCount: 0 }, 0, 0, false), false);
  assert.equal(shouldRestart({ Name: 'no' }, 1, 0, false), false);
  assert.equal(nextDelay(0, 50), 100);
  assert.equal(nextDelay(100, 50), 200);
  assert.equal(nextDelay(40_000, 50), 60_000);
  assert.equal(nextDelay(800, 10_000), 100);
});

test('top keeps the container\'s rows of ps output, the command with its spaces', () => {
  const out = 'UID PID PPID C STIME TTY TIME CMD\nroot 10 1 0 10:00 ? 00:00:00 sleep 100\nroot 11 1 0 10:00 ? 00:00:00 other thing\n';
  assert.deepEqual(parsePs(out, new Set([10])), { Titles: ['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD'], Processes: [['root', '10', '1', '0', '10:00', '?', '00:00:00', 'sleep 100']] });
  assert.throws(() => parsePs('USER COMMAND\nroot x\n', new Set([1])), /Couldn't find PID field/);
});
