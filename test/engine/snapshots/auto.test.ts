/** Driver choice: 'auto' probes overlay with a real mount in the root and falls back to vfs. */
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { openSnapshotter, overlaySupported } from '../../../engine/snapshots/index.js';
import { need } from '../../helpers/env.js';
import { scratch } from './lib.js';

test('auto picks overlay where a probe mount works, vfs where overlay cannot be used', async (t) => {
  if (!need(t, { root: true })) return;
  const sc = await scratch(t);
  const root = join(sc.dir, 'auto');
  const supported = await overlaySupported(root);
  const s = await openSnapshotter({ root });
  assert.equal(s.name, supported ? 'overlay' : 'vfs');
  assert.deepEqual((await readdir(root)).sort(), ['snapshots', 'staging'], 'the probe leaves nothing behind');
  // A root that cannot go into an overlay option string (':' separates lowerdirs).
  const colon = await openSnapshotter({ root: join(sc.dir, 'a:b') });
  assert.equal(colon.name, 'vfs');
  await assert.rejects(openSnapshotter({ root: join(sc.dir, 'a:b'), driver: 'overlay' }), /must not contain/);
});
