/**
 * The one snapshotter test suite: every driver runs it (overlay.test.ts, vfs.test.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  isSnapshotError,
  OverlaySnapshotter,
  VfsSnapshotter,
  type Snapshotter,
  type SnapshotterOptions,
} from '../../../engine/snapshots/index.js';
import { need } from '../../helpers/env.js';
import { scratch } from './lib.js';

export type DriverName = 'overlay' | 'vfs';

export function openDriver(driver: DriverName, options: SnapshotterOptions): Promise<Snapshotter> {
  return driver === 'overlay' ? OverlaySnapshotter.open(options) : VfsSnapshotter.open(options);
}

async function keys(s: Snapshotter): Promise<string[]> {
  const out: string[] = [];
  for await (const i of s.walk()) out.push(`${i.key}:${i.kind}${i.parent ? `<${i.parent}` : ''}`);
  return out;
}

async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  return 'no error';
}

export function snapshotterSuite(driver: DriverName): void {
  test(`${driver}: prepare, write, commit, child with a whiteout, read-only view, remove, walk, usage`, async (t: TestContext) => {
    if (!need(t, { root: true })) return;
    const sc = await scratch(t);
    const s = await openDriver(driver, { root: join(sc.dir, 'root') });
    assert.equal(s.name, driver);

    // Layer 1: an empty active snapshot, written through its mount.
    const m1 = await s.prepare('base-active', undefined, { labels: { 'tsdocker/role': 'test' } });
    const base = await sc.mount(m1, 'mnt-base');
    await mkdir(join(base, 'dir'));
    await writeFile(join(base, 'keep.txt'), 'kept');
    await writeFile(join(base, 'dir', 'gone.txt'), 'to be deleted');
    await writeFile(join(base, 'big.bin'), Buffer.alloc(1 << 20, 7));
    await sc.unmount(base);
    const u1 = await s.usage('base-active');
    assert.ok(u1.size >= 1 << 20, `usage counts the 1 MiB file: ${u1.size}`);
    assert.ok(u1.inodes >= 5, `root, dir, 3 files: ${u1.inodes}`);
    assert.deepEqual((await s.stat('base-active')).labels, { 'tsdocker/role': 'test' });
    await s.commit('layer1', 'base-active');
    await assert.rejects(s.stat('base-active'), (e) => isSnapshotError(e, 'not-found'));
    assert.equal((await s.stat('layer1')).kind, 'committed');

    // Layer 2: the child sees the parent's files, deletes one, adds one.
    const m2 = await s.prepare('child-active', 'layer1');
    const before = await s.usage('child-active');
    const child = await sc.mount(m2, 'mnt-child');
    assert.equal(await readFile(join(child, 'keep.txt'), 'utf8'), 'kept');
    assert.equal(await readFile(join(child, 'dir', 'gone.txt'), 'utf8'), 'to be deleted');
    await unlink(join(child, 'dir', 'gone.txt'));
    await writeFile(join(child, 'dir', 'new.txt'), 'added');
    await writeFile(join(child, 'more.bin'), Buffer.alloc(256 << 10, 1));
    await sc.unmount(child);
    const after = await s.usage('child-active');
    assert.ok(after.size - before.size >= 256 << 10, `usage grows by the bytes written: ${before.size} -> ${after.size}`);
    assert.ok(after.inodes > before.inodes);
    await s.commit('layer2', 'child-active');

    // A view of the grandchild (layer2 on layer1): the merged tree, read-only.
    const mv = await s.view('view', 'layer2');
    assert.equal((await s.stat('view')).kind, 'view');
    assert.deepEqual(await s.mounts('view'), mv);
    const view = await sc.mount(mv, 'mnt-view');
    assert.deepEqual((await readdir(view)).sort(), ['big.bin', 'dir', 'keep.txt', 'more.bin']);
    assert.deepEqual(await readdir(join(view, 'dir')), ['new.txt']);
    assert.equal(await readFile(join(view, 'dir', 'new.txt'), 'utf8'), 'added');
    assert.equal(await errorCode(writeFile(join(view, 'x'), 'no')), 'EROFS');
    assert.equal(await errorCode(unlink(join(view, 'keep.txt'))), 'EROFS');
    await sc.unmount(view);

    // A view of a single layer shows just that layer (and is read-only too).
    const single = await sc.mount(await s.view('view1', 'layer1'), 'mnt-view1');
    assert.deepEqual((await readdir(join(single, 'dir'))).sort(), ['gone.txt']);
    assert.equal(await errorCode(writeFile(join(single, 'x'), 'no')), 'EROFS');
    await sc.unmount(single);

    assert.deepEqual(await keys(s), ['layer1:committed', 'layer2:committed<layer1', 'view:view<layer2', 'view1:view<layer1']);

    // remove refuses parents with children, then works bottom-up.
    await assert.rejects(s.remove('layer1'), (e) => isSnapshotError(e, 'has-children') && (e as { code: string }).code === 'DENIED');
    await assert.rejects(s.remove('layer2'), (e) => isSnapshotError(e, 'has-children'));
    await s.remove('view');
    await s.remove('layer2');
    await assert.rejects(s.remove('layer1'), (e) => isSnapshotError(e, 'has-children'));
    await s.remove('view1');
    await s.remove('layer1');
    assert.deepEqual(await keys(s), []);
    assert.deepEqual(await readdir(join(sc.dir, 'root', 'snapshots')), [], 'no directories left');
    assert.deepEqual(await readdir(join(sc.dir, 'root', 'staging')), []);
  });

  test(`${driver}: keys are validated, kinds are enforced, state survives a reopen`, async (t: TestContext) => {
    if (!need(t, { root: true })) return;
    const sc = await scratch(t);
    const root = join(sc.dir, 'root');
    const s = await openDriver(driver, { root });
    for (const bad of ['', '../x', 'a/../b', '/abs', 'a//b', 'a b', 'a\\b', 'x\0y', '.', 'x'.repeat(513)]) {
      await assert.rejects(s.prepare(bad), (e) => isSnapshotError(e, 'invalid-key'), JSON.stringify(bad));
    }
    await s.prepare('sha256:abc/1');
    await assert.rejects(s.prepare('sha256:abc/1'), (e) => isSnapshotError(e, 'exists'));
    await assert.rejects(s.prepare('kid', 'sha256:abc/1'), (e) => isSnapshotError(e, 'wrong-kind'), 'parent must be committed');
    await assert.rejects(s.prepare('kid', 'missing'), (e) => isSnapshotError(e, 'not-found'));
    await assert.rejects(s.commit('c', 'missing'), (e) => isSnapshotError(e, 'not-found'));
    const target = await s.applyTarget('sha256:abc/1');
    assert.equal(target.mode, driver);
    await writeFile(join(target.dir, 'hello'), 'hi');
    await s.commit('c1', 'sha256:abc/1');
    await assert.rejects(s.commit('c2', 'c1'), (e) => isSnapshotError(e, 'wrong-kind'));
    await assert.rejects(s.mounts('c1'), (e) => isSnapshotError(e, 'wrong-kind'));
    await assert.rejects(s.applyTarget('c1'), (e) => isSnapshotError(e, 'wrong-kind'));
    await s.prepare('a2', 'c1');
    await assert.rejects(s.commit('c1', 'a2'), (e) => isSnapshotError(e, 'exists'));

    const again = await openDriver(driver, { root });
    assert.deepEqual(await keys(again), ['a2:active<c1', 'c1:committed']);
    const mnt = await sc.mount(await again.mounts('a2'), 'mnt');
    assert.equal(await readFile(join(mnt, 'hello'), 'utf8'), 'hi');
    await sc.unmount(mnt);
    // A new snapshot after the reopen gets a fresh id (does not reuse a2's directory).
    await again.prepare('a3', 'c1');
    assert.equal((await readdir(join(root, 'snapshots'))).length, 3);

    // A mounted snapshot (or the parent of a mounted chain) is not removed under the mount.
    const busy = await sc.mount(await again.mounts('a3'), 'mnt-busy');
    await assert.rejects(again.remove('a3'), (e) => isSnapshotError(e, 'busy'));
    await sc.unmount(busy);
    await again.remove('a3');

    // Concurrent prepares: one key wins once, distinct keys get distinct directories.
    const race = await Promise.allSettled([again.prepare('race', 'c1'), again.prepare('race', 'c1')]);
    assert.deepEqual(race.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    assert.ok(isSnapshotError(race.find((r) => r.status === 'rejected')?.reason, 'exists'));
    const many = await Promise.all(Array.from({ length: 8 }, (_, i) => again.prepare(`par-${i}`, 'c1')));
    assert.equal(new Set(many.map((m) => JSON.stringify(m))).size, 8);
    assert.equal((await keys(again)).length, 11);
  });

  test(`${driver}: leftovers of an interrupted prepare are removed at the next start`, async (t: TestContext) => {
    if (!need(t, { root: true })) return;
    const sc = await scratch(t);
    const root = join(sc.dir, 'root');
    const s = await openDriver(driver, { root });
    await s.prepare('a');
    await s.commit('c', 'a');
    // What a crash can leave: a half-made staging dir, an unrecorded snapshot dir, a metadata temp file.
    await mkdir(join(root, 'staging', '41', 'fs'), { recursive: true });
    await writeFile(join(root, 'staging', '41', 'fs', 'junk'), 'x');
    await mkdir(join(root, 'snapshots', '42', 'fs'), { recursive: true });
    await writeFile(join(root, 'metadata.json.tmp-1-deadbeef'), '{"trunc');
    const again = await openDriver(driver, { root });
    assert.deepEqual(await keys(again), ['c:committed']);
    assert.deepEqual(await readdir(join(root, 'staging')), []);
    assert.deepEqual(await readdir(join(root, 'snapshots')), ['1']);
    assert.deepEqual((await readdir(root)).sort(), ['metadata.json', 'snapshots', 'staging']);
  });

  test(`${driver}: a process killed at each point of prepare leaves a consistent store`, async (t: TestContext) => {
    if (!need(t, { root: true })) return;
    const sc = await scratch(t);
    const child = fileURLToPath(new URL('./crash-child.js', import.meta.url));
    const points = ['staged', 'placed', 'metadata-temp', 'metadata-renamed'] as const;
    for (const point of points) {
      const root = join(sc.dir, point);
      const s = await openDriver(driver, { root });
      await s.prepare('p-active');
      await writeFile(join((await s.applyTarget('p-active')).dir, 'f'), 'parent');
      await s.commit('p', 'p-active');
      await killAt(child, driver, root, point);
      const again = await openDriver(driver, { root });
      const names = await keys(again);
      if (point === 'metadata-renamed') {
        assert.deepEqual(names, ['k:active<p', 'p:committed'], point);
        const mnt = await sc.mount(await again.mounts('k'), `mnt-${point}`);
        assert.equal(await readFile(join(mnt, 'f'), 'utf8'), 'parent');
        await sc.unmount(mnt);
      } else {
        assert.deepEqual(names, ['p:committed'], `killed at ${point}: the half-made snapshot is not recorded`);
        assert.deepEqual(await readdir(join(root, 'snapshots')), ['1'], `killed at ${point}: its directory is gone`);
        // And the key can be prepared again.
        await again.prepare('k', 'p');
      }
      assert.deepEqual(await readdir(join(root, 'staging')), []);
      assert.ok(!(await readdir(root)).some((n) => n.includes('.tmp-')), 'no metadata temp file');
      await rm(root, { recursive: true, force: true });
    }
  });
}

/** Run crash-child.js (prepare 'k' on 'p'), wait until it reports it reached `point`, SIGKILL it by PID. */
async function killAt(script: string, driver: DriverName, root: string, point: string): Promise<void> {
  const proc = spawn(process.execPath, [script, driver, root, point], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`crash child never reached ${point}: ${err}`)), 20_000);
      proc.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes(`at ${point}\n`)) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`crash child exited (${code}) before ${point}: ${err}`));
      });
    });
  } finally {
    if (proc.pid !== undefined && proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid, 'SIGKILL');
    await exited;
  }
}
