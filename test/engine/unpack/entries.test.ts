/**
 * What applyLayer writes for each kind of entry, under each compression, in both modes, and
 * through the worker pool.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTsdError } from '../../../shared/errors.js';
import { applyLayer, UnpackPool, zstdAvailable } from '../../../engine/unpack/index.js';
import { hasProgram, need, tempDir } from '../../helpers/env.js';
import { arena, chunked, diffTrees, gzip, makeTar, sha256, snapshot, T0, TAR, TGZ, TZST, zstdCompress, type E } from './lib.js';

const everyType: E[] = [
  { name: 'dir/', type: 'directory', mode: 0o2775, uid: 5, gid: 6, pax: { 'SCHILY.xattr.user.dir': 'on a dir' } },
  { name: 'dir/file', data: 'content\n', mode: 0o640, uid: 1000, gid: 1000, mtime: T0 + 123, pax: { 'SCHILY.xattr.user.note': 'hello' } },
  { name: 'dir/setuid', data: 'su', mode: 0o4755 },
  { name: 'dir/setgid', data: 'sg', mode: 0o2755, gid: 50 },
  { name: 'sticky/', type: 'directory', mode: 0o1777 },
  { name: 'dir/hard', type: 'link', linkname: 'dir/file' },
  { name: 'dir/sym', type: 'symlink', linkname: '../sticky', mtime: T0 + 7 },
  { name: 'dir/longsym', type: 'symlink', linkname: `/${'t'.repeat(150)}/target` },
  { name: `dir/${'n'.repeat(200)}`, data: 'long name' },
  { name: `${'a'.repeat(80)}/${'b'.repeat(80)}/${'c'.repeat(80)}`, data: 'long path' },
  { name: `dir/${'h'.repeat(120)}`, type: 'link', linkname: `dir/${'n'.repeat(200)}` },
  { name: 'dev/', type: 'directory' },
  { name: 'dev/tty', type: 'character-device', devmajor: 5, devminor: 0, mode: 0o666, gid: 5 },
  { name: 'dev/sda', type: 'block-device', devmajor: 8, devminor: 300, mode: 0o660 },
  { name: 'dev/pipe', type: 'fifo', mode: 0o620 },
  { name: 'dir/empty', data: '' },
  { name: 'dir/big', data: Buffer.alloc(3 * 1024 * 1024 + 17, 0xab) },
];

test('every entry type with its metadata (gzip, in chunks of odd sizes)', async (t) => {
  if (!need(t, { root: true })) return;
  const a = await arena(t);
  const tar = await makeTar(everyType);
  const r = await applyLayer(a.root, chunked(gzip(tar)), { mediaType: TGZ, mode: 'vfs', expectedDiffId: sha256(tar) });
  assert.equal(r.diffId, sha256(tar));
  assert.equal(r.size, tar.length);
  assert.equal(r.entries, everyType.length);
  assert.deepEqual(r.warnings, []);
  const s = snapshot(a.root, { xattrs: true, mtimes: true });
  const get = (p: string) => s.get(p) ?? assert.fail(`${p} missing`);
  assert.deepEqual([get('dir').type, get('dir').mode, get('dir').uid, get('dir').gid], ['dir', 0o2775, 5, 6]);
  assert.equal(get('dir').xattrs?.['user.dir'], Buffer.from('on a dir').toString('base64'));
  const f = get('dir/file');
  assert.deepEqual([f.type, f.mode, f.uid, f.gid, f.mtime, f.size], ['file', 0o640, 1000, 1000, T0 + 123, 8]);
  assert.equal(f.xattrs?.['user.note'], Buffer.from('hello').toString('base64'));
  assert.equal(readFileSync(join(a.root, 'dir/file'), 'utf8'), 'content\n');
  assert.equal(get('dir/setuid').mode, 0o4755);
  assert.deepEqual([get('dir/setgid').mode, get('dir/setgid').gid], [0o2755, 50]);
  assert.equal(get('sticky').mode, 0o1777);
  assert.equal(get('dir/hard').ino, f.ino);
  assert.deepEqual([get('dir/sym').type, get('dir/sym').target, get('dir/sym').mtime], ['symlink', '../sticky', T0 + 7]);
  assert.equal(get('dir/longsym').target, `/${'t'.repeat(150)}/target`);
  assert.equal(readFileSync(join(a.root, `dir/${'n'.repeat(200)}`), 'utf8'), 'long name');
  assert.equal(get(`dir/${'h'.repeat(120)}`).ino, get(`dir/${'n'.repeat(200)}`).ino);
  assert.equal(readFileSync(join(a.root, `${'a'.repeat(80)}/${'b'.repeat(80)}/${'c'.repeat(80)}`), 'utf8'), 'long path');
  assert.deepEqual([get('dev/tty').type, get('dev/tty').rdev, get('dev/tty').mode, get('dev/tty').gid], ['char', (5 << 8) | 0, 0o666, 5]);
  // minor 300 > 255: glibc's makedev puts the high minor bits at bit 20
  assert.deepEqual([get('dev/sda').type, get('dev/sda').rdev], ['block', (8 << 8) | (300 & 0xff) | ((300 & ~0xff) << 12)]);
  assert.deepEqual([get('dev/pipe').type, get('dev/pipe').mode], ['fifo', 0o620]);
  assert.equal(get('dir/empty').size, 0);
  assert.equal(get('dir/big').size, 3 * 1024 * 1024 + 17);
  a.assertUntouched();
});

test('uncompressed, gzip and zstd layers give the same DiffID and tree', async (t) => {
  if (!need(t, { root: true })) return;
  const tar = await makeTar(everyType);
  const trees = [];
  const kinds: Array<[string, Buffer]> = [
    [TAR, tar],
    [TGZ, gzip(tar)],
  ];
  if (hasProgram('zstd') && zstdAvailable()) kinds.push([TZST, zstdCompress(tar)]);
  else t.diagnostic('zstd not tested: the zstd program or libzstd.so.1 is missing');
  for (const [mediaType, blob] of kinds) {
    const root = join(await tempDir(t), 'r');
    mkdirSync(root);
    const r = await applyLayer(root, chunked(blob, 65536), { mediaType, mode: 'vfs', expectedDiffId: sha256(tar) });
    assert.equal(r.diffId, sha256(tar), mediaType);
    trees.push(snapshot(root, { xattrs: true, mtimes: true }));
  }
  for (const tr of trees.slice(1)) assert.deepEqual(diffTrees(trees[0]!, tr, (p, f) => p === '.' && f === 'mode'), []);
});

test('a truncated zstd stream fails clearly', async (t) => {
  if (!need(t, { root: true, programs: ['zstd'] })) return;
  if (!zstdAvailable()) return t.skip('libzstd.so.1 missing');
  const a = await arena(t);
  const tar = await makeTar([{ name: 'f', data: Buffer.alloc(200_000, 7) }, { name: 'g', data: 'x' }]);
  const z = zstdCompress(tar);
  const err = await applyLayer(a.root, z.subarray(0, z.length - 20), { mediaType: TZST, mode: 'vfs' }).catch((e: unknown) => e);
  assert.ok(isTsdError(err, 'INVALID_ARGUMENT'), String(err));
  a.assertUntouched();
});

test('a tar written by GNU tar (ustar prefix, GNU long names, base-256 ids) applies', async (t) => {
  if (!need(t, { root: true, programs: ['tar'] })) return;
  const src = await tempDir(t);
  const long = `${'x'.repeat(120)}/${'y'.repeat(140)}`;
  mkdirSync(join(src, long), { recursive: true });
  writeFileSync(join(src, long, 'f'), 'deep');
  spawnSync('ln', ['-s', `${'z'.repeat(130)}`, join(src, 'longlink')]);
  writeFileSync(join(src, 'bigid'), 'id');
  for (const format of ['gnu', 'posix', 'ustar']) {
    const tarFile = join(src, `..`, `${src.split('/').pop()}-${format}.tar`);
    const args = ['-C', src, `--format=${format}`, '--owner=3000000', '--group=3000001', '--numeric-owner', '-cf', tarFile, '.'];
    const r = spawnSync('tar', args, { encoding: 'utf8' });
    if (format === 'ustar') {
      assert.notEqual(r.status, 0); // ustar cannot hold these names/ids: nothing to test
      continue;
    }
    assert.equal(r.status, 0, r.stderr);
    t.after(() => spawnSync('rm', ['-f', tarFile]));
    const root = join(await tempDir(t), 'r');
    mkdirSync(root);
    const blob = readFileSync(tarFile);
    const res = await applyLayer(root, blob, { mediaType: TAR, mode: 'vfs', expectedDiffId: sha256(blob) });
    const s = snapshot(root);
    assert.equal(readFileSync(join(root, long, 'f'), 'utf8'), 'deep', format);
    assert.equal(s.get('longlink')!.target, 'z'.repeat(130), format);
    assert.deepEqual([s.get('bigid')!.uid, s.get('bigid')!.gid], [3000000, 3000001], format);
    assert.ok(res.entries >= 6);
  }
});

test('vfs whiteouts spare what the same layer wrote', async (t) => {
  if (!need(t, { root: true })) return;
  const a = await arena(t);
  await applyLayer(a.root, await makeTar([{ name: 'd/', type: 'directory' }, { name: 'd/old', data: 'o' }, { name: 'e/', type: 'directory' }, { name: 'e/old', data: 'o' }]), { mediaType: TAR, mode: 'vfs' });
  const tar = await makeTar([
    { name: 'd/new', data: 'n' },
    { name: '.wh.d' }, // after d/new in the same layer: only lower content goes
    { name: 'e/new', data: 'n' },
    { name: 'e/.wh..wh..opq' },
  ]);
  await applyLayer(a.root, tar, { mediaType: TAR, mode: 'vfs' });
  const s = snapshot(a.root);
  assert.ok(s.has('d/new') && !s.has('d/old'));
  assert.ok(s.has('e/new') && !s.has('e/old'));
});

test('overlay mode: a whiteout then a same-named directory in one layer makes it opaque', async (t) => {
  if (!need(t, { root: true })) return;
  const a = await arena(t);
  const tar = await makeTar([
    { name: '.wh.d' },
    { name: 'd/', type: 'directory' },
    { name: 'd/f', data: 'f' },
    { name: 'x/', type: 'directory' },
    { name: 'x/f', data: 'keep' },
    { name: 'x/.wh.f' }, // same layer: the whiteout does not remove x/f
  ]);
  await applyLayer(a.root, tar, { mediaType: TAR, mode: 'overlay' });
  const s = snapshot(a.root, { xattrs: true });
  assert.equal(s.get('d')!.type, 'dir');
  assert.equal(s.get('d')!.xattrs?.['trusted.overlay.opaque'], Buffer.from('y').toString('base64'));
  assert.equal(s.get('x/f')!.type, 'file');
});

test('an aborted apply stops with the abort reason', async (t) => {
  if (!need(t, { root: true })) return;
  const a = await arena(t);
  const tar = await makeTar(Array.from({ length: 200 }, (_, i) => ({ name: `f${i}`, data: 'x'.repeat(5000) })));
  const ac = new AbortController();
  async function* slow(): AsyncGenerator<Uint8Array> {
    let n = 0;
    for await (const c of chunked(tar, 4096)) {
      if (++n === 20) ac.abort(new Error('user cancelled'));
      yield c;
    }
  }
  await assert.rejects(applyLayer(a.root, slow(), { mediaType: TAR, mode: 'vfs', signal: ac.signal }), /user cancelled/);
});

test('UnpackPool: layers in parallel workers, from files and from streams, equal to in-thread', async (t) => {
  if (!need(t, { root: true })) return;
  const pool = new UnpackPool({ size: 2 });
  t.after(() => pool.close());
  const dir = await tempDir(t);
  const layers = await Promise.all(
    [0, 1, 2].map(async (i) => makeTar(Array.from({ length: 300 }, (_, j) => ({ name: `l${i}/f${j}`, data: Buffer.alloc(20_000 + j, i) })))),
  );
  const blobs = layers.map((l) => gzip(l));
  blobs.forEach((b, i) => writeFileSync(join(dir, `blob${i}`), b));
  const roots = [0, 1, 2, 3].map((i) => {
    const r = join(dir, `root${i}`);
    mkdirSync(r);
    return r;
  });
  // Event-loop lag while the workers run.
  let maxLag = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    maxLag = Math.max(maxLag, now - last - 5);
    last = now;
  }, 5);
  const results = await Promise.all([
    pool.apply(roots[0]!, join(dir, 'blob0'), { mediaType: TGZ, mode: 'vfs', expectedDiffId: sha256(layers[0]!) }),
    pool.apply(roots[1]!, chunked(blobs[1]!, 100_000), { mediaType: TGZ, mode: 'vfs', expectedDiffId: sha256(layers[1]!) }),
    pool.apply(roots[2]!, blobs[2]!, { mediaType: TGZ, mode: 'vfs', expectedDiffId: sha256(layers[2]!) }),
  ]);
  clearInterval(timer);
  t.diagnostic(`max event-loop lag while 3 layers unpacked in 2 workers: ${maxLag.toFixed(1)} ms`);
  results.forEach((r, i) => assert.equal(r.diffId, sha256(layers[i]!)));
  const inThread = await applyLayer(roots[3]!, blobs[1]!, { mediaType: TGZ, mode: 'vfs' });
  assert.equal(inThread.diffId, results[1]!.diffId);
  assert.deepEqual(diffTrees(snapshot(roots[1]!), snapshot(roots[3]!)), []);
  // errors cross the thread boundary as TsdErrors
  const bad = await pool.apply(roots[3]!, blobs[0]!, { mediaType: TGZ, mode: 'vfs', expectedDiffId: sha256(Buffer.from('no')) }).catch((e: unknown) => e);
  assert.ok(isTsdError(bad, 'DIGEST_INVALID'), String(bad));
  const escape = await pool.apply(roots[3]!, await makeTar([{ name: '../x', data: 'x' }]), { mediaType: TAR, mode: 'vfs' }).catch((e: unknown) => e);
  assert.ok(isTsdError(escape, 'INVALID_ARGUMENT'), String(escape));
  assert.equal((escape.detail as { reason: string }).reason, 'path-escape');
  // and aborts reach the worker
  const ac = new AbortController();
  const p = pool.apply(roots[3]!, (async function* () {
    yield blobs[2]!.subarray(0, 1000);
    ac.abort(new Error('stop now'));
    await new Promise((r) => setTimeout(r, 50));
    yield blobs[2]!.subarray(1000);
  })(), { mediaType: TGZ, mode: 'vfs', signal: ac.signal });
  await assert.rejects(p, /stop now/);
});
