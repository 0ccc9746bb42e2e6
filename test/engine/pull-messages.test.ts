/**
 * The progress lines of a pull, as dockerd renders them (strings captured from dockerd 20.10's
 * /images/create stream), and the per-layer throttle that keeps a fast pull from flooding it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { humanSize, progressBar, progressMessage, type JSONMessage } from '../../engine/images/json-message.js';
import { PullProgress, progressInterval } from '../../engine/images/pull-progress.js';

test('sizes and bars exactly as dockerd renders them', () => {
  assert.equal(humanSize(350), '350B');
  assert.equal(humanSize(36_393), '36.39kB');
  assert.equal(humanSize(3_001_284), '3.001MB');
  assert.equal(humanSize(20_006_456), '20.01MB');
  assert.equal(humanSize(227_880), '227.9kB');
  assert.equal(progressBar({ current: 36_393, total: 3_001_284 }), `[>${' '.repeat(50)}]  36.39kB/3.001MB`);
  assert.equal(progressBar({ current: 16_893_480, total: 20_006_456 }), `[${'='.repeat(42)}>${' '.repeat(8)}]  16.89MB/20.01MB`);
  assert.equal(progressBar({ current: 350, total: 350 }), `[${'='.repeat(50)}>]     350B/350B`);
  assert.equal(progressBar({ current: 17_891_328, total: 20_006_456 }), `[${'='.repeat(44)}>${' '.repeat(6)}]  17.89MB/20.01MB`);
  assert.equal(
    JSON.stringify(progressMessage('865b99bd1646', 'Downloading', 36_393, 3_001_284)),
    '{"status":"Downloading","progressDetail":{"current":36393,"total":3001284},"progress":"[>                                                  ]  36.39kB/3.001MB","id":"865b99bd1646"}',
    'the same JSON as dockerd (but for its \\u003e escape of >)',
  );
});

test('bars are throttled per layer and kind; the last one always goes out, once', () => {
  let now = 0;
  const out: JSONMessage[] = [];
  const p = new PullProgress((m) => out.push(m), () => now);
  const d = `sha256:${'a'.repeat(64)}`;
  const e = `sha256:${'b'.repeat(64)}`;
  p.bar(d, 'Downloading', 1, 100);
  p.bar(d, 'Downloading', 2, 100);
  p.bar(e, 'Downloading', 1, 100);
  now += progressInterval;
  p.bar(d, 'Downloading', 3, 100);
  p.bar(d, 'Downloading', 4, 100);
  p.bar(d, 'Downloading', 100, 100);
  p.bar(d, 'Downloading', 100, 100, true);
  p.bar(d, 'Extracting', 5, 100);
  p.layer(d, 'Pull complete');
  assert.deepEqual(
    out.map((m) => `${m.id} ${m.status} ${m.progressDetail?.current ?? ''}`),
    ['aaaaaaaaaaaa Downloading 1', 'bbbbbbbbbbbb Downloading 1', 'aaaaaaaaaaaa Downloading 3', 'aaaaaaaaaaaa Downloading 100', 'aaaaaaaaaaaa Extracting 5', 'aaaaaaaaaaaa Pull complete '],
  );
  assert.deepEqual(out.at(-1), { status: 'Pull complete', progressDetail: {}, id: 'aaaaaaaaaaaa' });
});

test('a sink that throws does not break the pull', () => {
  const p = new PullProgress(() => {
    throw new Error('client went away');
  });
  p.header('library/debian', 'latest');
  p.status('Digest: sha256:x');
});
