// The bars and sizes are compared with lines a real dockerd 20.10 sent for a push.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { humanSize, progressBar, progressMessage, statusMessage } from './json-message.js';

test('humanSize: go-units HumanSize (4 significant digits, decimal units)', () => {
  assert.equal(humanSize(512), '512B');
  assert.equal(humanSize(2048), '2.048kB');
  assert.equal(humanSize(204_288), '204.3kB');
  assert.equal(humanSize(200_035), '200kB');
  assert.equal(humanSize(3_000_035), '3MB');
  assert.equal(humanSize(2_493_440), '2.493MB');
});

test('progressBar: dockerd\'s rendering, including a count past the total', () => {
  assert.equal(progressBar({ current: 2048, total: 200_035 }), `[>${' '.repeat(50)}]  2.048kB/200kB`);
  assert.equal(progressBar({ current: 2_493_440, total: 3_000_035 }), `[${'='.repeat(41)}>${' '.repeat(9)}]  2.493MB/3MB`);
  assert.equal(progressBar({ current: 4608, total: 45 }), `[${'='.repeat(50)}>]  4.608kB`);
  assert.equal(progressBar({ current: 512, total: 45 }), `[${'='.repeat(50)}>]     512B`);
  assert.equal(progressBar({ current: 0, total: 0 }), '');
});

test('progress and status lines are keyed in dockerd\'s order', () => {
  assert.equal(
    JSON.stringify(progressMessage('c6f9e67b29b2', 'Pushing', 35_840, 3_000_035)),
    '{"status":"Pushing","progressDetail":{"current":35840,"total":3000035},"progress":"[>                                                  ]  35.84kB/3MB","id":"c6f9e67b29b2"}',
  );
  assert.equal(JSON.stringify(statusMessage('013b1e6ac933', 'Pushed')), '{"status":"Pushed","progressDetail":{},"id":"013b1e6ac933"}');
});
