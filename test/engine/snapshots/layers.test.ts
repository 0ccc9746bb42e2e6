/**
 * Real layers through both drivers: a 3-layer chain (whiteouts, an opaque directory, hardlinks,
 * symlinks, devices, a fifo, setuid, owners, xattrs, times) applied with engine/unpack's
 * applyLayer into each driver's applyTarget, the top mounted read-only, and the two mounted
 * trees compared node by node. Also: the vfs copy keeps what fs.cp would lose.
 */
import assert from 'node:assert/strict';
import { lstat, mkdir, symlink, writeFile, link } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { applyLayer } from '../../../engine/unpack/index.js';
import { copyTree } from '../../../engine/snapshots/index.js';
import { lsetxattr, lutimesNs, mknod } from '../../../engine/snapshots/native.js';
import { need } from '../../helpers/env.js';
import { makeLayer, scratch, treeOf, TGZ, type E, type Scratch } from './lib.js';
import { openDriver, type DriverName } from './suite.js';

const dir = (name: string, extra: Partial<E> = {}): E => ({ name, type: 'directory', ...extra });

async function layers(): Promise<Buffer[]> {
  const l1 = await makeLayer([
    dir('./'),
    dir('bin/'),
    { name: 'bin/sh', data: '#!shell', mode: 0o755 },
    { name: 'bin/hard', type: 'link', linkname: 'bin/sh' },
    { name: 'bin/sym', type: 'symlink', linkname: 'sh' },
    { name: 'bin/su', data: 'setuid', mode: 0o4755, uid: 1000, gid: 1001 },
    dir('etc/', { mode: 0o750, uid: 5, gid: 6 }),
    { name: 'etc/passwd', data: 'root:x:0:0\n' },
    { name: 'etc/keep', data: 'deleted in layer 2' },
    { name: 'etc/attr', data: 'x', pax: { 'SCHILY.xattr.user.tsdocker': 'value-1' } },
    dir('data/'),
    { name: 'data/a', data: 'a' },
    dir('data/sub/'),
    { name: 'data/sub/c', data: 'c' },
    dir('dev/'),
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'dev/loop9', type: 'block-device', devmajor: 7, devminor: 9, mode: 0o660 },
    { name: 'dev/fifo', type: 'fifo', mode: 0o600 },
  ]);
  const l2 = await makeLayer([
    dir('./'),
    dir('etc/', { mode: 0o750, uid: 5, gid: 6, mtime: 1_600_000_100 }),
    { name: 'etc/.wh.keep', data: '' },
    { name: 'etc/passwd', data: 'root:x:0:0\nuser:x:1000:1000\n', mtime: 1_600_000_100 },
    dir('data/', { mtime: 1_600_000_100 }),
    { name: 'data/.wh..wh..opq', data: '' },
    { name: 'data/new', data: 'from layer 2' },
  ]);
  const l3 = await makeLayer([
    dir('./', { mtime: 1_600_000_200 }),
    dir('bin/', { mtime: 1_600_000_200 }),
    { name: 'bin/.wh.sym', data: '' },
    { name: 'bin/added', data: 'layer 3', mode: 0o700, uid: 33, gid: 33 },
    dir('data/', { mtime: 1_600_000_200 }),
    { name: 'data/new', data: 'from layer 3', mtime: 1_600_000_200 },
    dir('opt/', { mtime: 1_600_000_200 }),
    { name: 'opt/tool', type: 'symlink', linkname: '/bin/sh', mtime: 1_600_000_200 },
  ]);
  return [l1, l2, l3];
}

/** Apply the layers as a chain in `driver`, mount a read-only view of the top, return its tree. */
async function chainTree(sc: Scratch, driver: DriverName, blobs: Buffer[]): Promise<Map<string, string>> {
  const s = await openDriver(driver, { root: join(sc.dir, driver) });
  let parent: string | undefined;
  for (const [i, blob] of blobs.entries()) {
    await s.prepare(`extract-${i}`, parent);
    const target = await s.applyTarget(`extract-${i}`);
    assert.equal(target.mode, driver);
    const res = await applyLayer(target.dir, blob, { mediaType: TGZ, mode: target.mode });
    assert.deepEqual(res.warnings, []);
    await s.commit(`layer-${i}`, `extract-${i}`);
    parent = `layer-${i}`;
  }
  const mnt = await sc.mount(await s.view('top', parent), `mnt-${driver}`);
  const tree = await treeOf(mnt);
  // The merged tree is what the layers say.
  assert.ok(!tree.has('etc/keep'), 'whiteout hides etc/keep');
  assert.ok(!tree.has('bin/sym'), 'whiteout hides bin/sym');
  assert.ok(!tree.has('data/a') && !tree.has('data/sub') && !tree.has('data/sub/c'), 'opaque data/ hides the lower children');
  assert.ok(tree.has('data/new') && tree.has('bin/added') && tree.has('opt/tool'));
  assert.match(tree.get('bin/sh') ?? '', /link=bin\/hard$/, 'the hardlink is kept (same inode as bin/hard)');
  assert.match(tree.get('bin/su') ?? '', /^file 4755 1000:1001 /, 'setuid and owner kept');
  assert.match(tree.get('etc') ?? '', /^dir 750 5:6 /);
  assert.match(tree.get('etc/attr') ?? '', /user\.tsdocker=/);
  assert.match(tree.get('dev/null') ?? '', /^char 666 0:0 size=- rdev=259 /);
  assert.match(tree.get('dev/fifo') ?? '', /^fifo 600 /);
  assert.ok([...tree.keys()].every((k) => !k.split('/').pop()!.startsWith('.wh.')), 'no whiteout files are visible');
  await sc.unmount(mnt);
  return tree;
}

test('a 3-layer chain applied with applyLayer mounts to the same tree with overlay and vfs', async (t) => {
  if (!need(t, { root: true })) return;
  const sc = await scratch(t);
  const blobs = await layers();
  const overlay = await chainTree(sc, 'overlay', blobs);
  const vfs = await chainTree(sc, 'vfs', blobs);
  assert.deepEqual([...overlay.keys()], [...vfs.keys()], 'the same paths');
  // The root's mtime is "now" in both: applyLayer sets the root's times at its './' entry, before
  // the layer's children are created in it (an engine/unpack quirk, reported to the lead).
  const noTime = (line: string | undefined): string | undefined => line?.replace(/ mtime=\d+/, '');
  assert.equal(noTime(vfs.get('.')), noTime(overlay.get('.')), '.');
  for (const [path, line] of overlay) if (path !== '.') assert.equal(vfs.get(path), line, path);
});

test('vfs copy keeps owners, modes, xattrs, symlinks, hardlinks, devices and nanosecond times', async (t) => {
  if (!need(t, { root: true })) return;
  const sc = await scratch(t);
  const src = join(sc.dir, 'src');
  await mkdir(join(src, 'd', 'e'), { recursive: true });
  await writeFile(join(src, 'd', 'f'), 'content');
  await link(join(src, 'd', 'f'), join(src, 'd', 'e', 'f-hard'));
  await symlink('../nowhere', join(src, 'd', 'dangling'));
  mknod(join(src, 'd', 'tty'), 0o020000 | 0o620, 0x0504n);
  mknod(join(src, 'd', 'pipe'), 0o010000 | 0o640, 0n);
  mknod(join(src, 'd', 'sock'), 0o140000 | 0o755, 0n);
  lsetxattr(join(src, 'd', 'f'), 'user.k', Buffer.from('v'));
  lsetxattr(join(src, 'd', 'e'), 'trusted.t', Buffer.from([0, 1, 2]));
  lsetxattr(join(src, 'd', 'dangling'), 'trusted.onlink', Buffer.from('l'));
  const { chmod, lchown } = await import('node:fs/promises');
  await lchown(join(src, 'd', 'dangling'), 7, 8);
  await lchown(join(src, 'd', 'f'), 1234, 5678);
  await chmod(join(src, 'd', 'f'), 0o6750);
  await chmod(join(src, 'd', 'e'), 0o1777);
  lutimesNs(join(src, 'd', 'f'), 1_500_000_000_123_456_789n, 1_400_000_000_987_654_321n);
  lutimesNs(join(src, 'd', 'dangling'), 1_500_000_000_000_000_001n, 1_400_000_000_000_000_001n);
  lutimesNs(join(src, 'd', 'e'), 1_500_000_000_000_000_002n, 1_400_000_000_000_000_002n);
  const dst = join(sc.dir, 'dst');
  await copyTree(src, dst);
  const a = await treeOf(src);
  const b = await treeOf(dst);
  // Directory atimes change when the copy reads them; everything treeOf records is equal.
  assert.deepEqual([...b], [...a]);
  assert.equal((await lstat(join(dst, 'd', 'f'))).nlink, 2);
  assert.match(b.get('d/f') ?? '', /^file 6750 1234:5678 .*user\.k=76.*mtime=1400000000987654321/);
  assert.match(b.get('d/dangling') ?? '', /^symlink 777 7:8 .*trusted\.onlink=6c/);
});
