/**
 * overlay with a 120-layer chain: its lowerdir list (absolute paths in a temp dir) is longer
 * than mount(2)'s one-page limit; mount.ts mounts it with the new mount API (one `lowerdir+`
 * per layer) and, as the fallback for older kernels, with paths relative to the snapshots dir.
 */
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { OverlaySnapshotter, type LongOptionStrategy, type Mount } from '../../../engine/snapshots/index.js';
import { need } from '../../helpers/env.js';
import { scratch } from './lib.js';

const LAYERS = 120;

test(`overlay mounts a ${LAYERS}-layer chain beyond the mount option page limit`, async (t) => {
  if (!need(t, { root: true })) return;
  const sc = await scratch(t);
  const s = await OverlaySnapshotter.open({ root: join(sc.dir, 'overlay') });
  let parent: string | undefined;
  for (let i = 0; i < LAYERS; i++) {
    await s.prepare(`a${i}`, parent);
    const { dir } = await s.applyTarget(`a${i}`);
    await writeFile(join(dir, `f${i}`), String(i));
    await writeFile(join(dir, 'common'), String(i));
    await s.commit(`l${i}`, `a${i}`);
    parent = `l${i}`;
  }
  const mounts = await s.prepare('top', parent);
  const lower = mounts[0]!.options.find((o) => o.startsWith('lowerdir='))!;
  assert.equal(lower.slice('lowerdir='.length).split(':').length, LAYERS);
  assert.ok(mounts[0]!.options.join(',').length > 4095, `the absolute option string (${mounts[0]!.options.join(',').length} bytes) exceeds a page`);

  const check = async (ms: Mount[], name: string, strategy: LongOptionStrategy, writable: boolean): Promise<void> => {
    const mnt = await sc.mount(ms, name, { longOptions: strategy });
    const names = await readdir(mnt);
    assert.equal(names.filter((n) => /^f\d+$/.test(n)).length, LAYERS, `${strategy}: every layer's file is visible`);
    assert.equal(await readFile(join(mnt, 'common'), 'utf8'), String(LAYERS - 1), `${strategy}: the nearest layer wins`);
    assert.equal(await readFile(join(mnt, 'f0'), 'utf8'), '0');
    if (writable) await writeFile(join(mnt, `written-${strategy}`), 'x');
    await sc.unmount(mnt);
  };
  // fsconfig's `lowerdir+` exists from Linux 6.8 on; 'auto' falls back to relative paths before that.
  const [major = 0, minor = 0] = release().split('.').map(Number);
  const strategies: LongOptionStrategy[] = major > 6 || (major === 6 && minor >= 8) ? ['auto', 'fsconfig', 'relative'] : ['auto', 'relative'];
  for (const strategy of strategies) await check(mounts, `mnt-${strategy}`, strategy, true);
  const { dir: upper } = await s.applyTarget('top');
  assert.deepEqual((await readdir(upper)).sort(), strategies.map((x) => `written-${x}`).sort(), 'writes land in the upper dir');

  // A read-only view of the whole chain (lowerdirs only) mounts too.
  await check(await s.view('v', parent), 'mnt-view', 'auto', false);
  await check(await s.mounts('v'), 'mnt-view-rel', 'relative', false);
});
