/**
 * Equality with real peers:
 * - vfs mode == `umoci unpack` of the same OCI image, file by file (type, content, mode incl.
 *   setuid/setgid/sticky, uid/gid, symlink target, device numbers, hardlink structure, mtimes of
 *   non-directories). Excluded on purpose: directory mtimes (each tool touches parents in its own
 *   order) and the rootfs directory itself (umoci creates it with its own mode).
 * - overlay mode: each layer applied into its own empty upper dir, the upper dirs mounted as the
 *   lowerdirs of a read-only overlay; the merged view == the vfs result. The image for this one
 *   leaves out the two cases where overlay and vfs semantics differ by design (a later layer
 *   writing below a lower-layer symlink; a hardlink to a lower layer's file), and a separate
 *   test pins the first difference.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { applyLayer } from '../../../engine/unpack/index.js';
import { need, tempDir } from '../../helpers/env.js';
import { diffTrees, gzip, makeTar, sha256, snapshot, T0, TGZ, type E } from './lib.js';

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** Three layers touching every entry type, whiteouts, an opaque dir, symlinks and hardlinks. */
function imageLayers(vfsOnly: boolean): E[][] {
  const l1: E[] = [
    { name: 'bin/', type: 'directory' },
    { name: 'bin/su', data: 'setuid binary', mode: 0o4755 },
    { name: 'bin/sg', data: 'setgid binary', mode: 0o2711, gid: 42 },
    { name: 'bin/su-link', type: 'link', linkname: 'bin/su' },
    { name: 'etc/', type: 'directory' },
    { name: 'etc/gone', data: 'whited out in layer 2' },
    { name: 'etc/owned', data: 'owned by 1000', uid: 1000, gid: 1001, mode: 0o600, mtime: T0 + 77 },
    { name: 'etc/abs-link', type: 'symlink', linkname: '/usr/lib/libc.so' },
    { name: 'etc/empty', data: '' },
    { name: 'tmp/', type: 'directory', mode: 0o1777 },
    { name: 'usr/', type: 'directory' },
    { name: 'usr/lib/', type: 'directory' },
    { name: 'usr/lib/libc.so', data: 'libc', mode: 0o755 },
    { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
    { name: 'opaque/', type: 'directory', mode: 0o750 },
    { name: 'opaque/old1', data: 'old' },
    { name: 'opaque/sub/', type: 'directory' },
    { name: 'opaque/sub/old2', data: 'old' },
    { name: 'del/', type: 'directory' },
    { name: 'del/x', data: 'x' },
    { name: 'dev/', type: 'directory' },
    { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    { name: 'dev/loop9', type: 'block-device', devmajor: 7, devminor: 9, mode: 0o660, gid: 6 },
    { name: 'dev/fifo', type: 'fifo', mode: 0o644 },
    { name: `deep/${'d'.repeat(90)}/${'e'.repeat(90)}/file-with-a-long-path`, data: 'long' },
    { name: 'replace/', type: 'directory' },
    { name: 'replace/dir-becomes-file/', type: 'directory' },
    { name: 'replace/dir-becomes-file/child', data: 'c' },
    { name: 'replace/file-becomes-dir', data: 'f' },
  ];
  const l2: E[] = [
    { name: 'etc/', type: 'directory' },
    { name: 'etc/.wh.gone' },
    { name: 'opaque/', type: 'directory', mode: 0o755 },
    { name: 'opaque/.wh..wh..opq' },
    { name: 'opaque/new', data: 'new in layer 2' },
    { name: '.wh.del' },
    { name: 'usr/', type: 'directory', mode: 0o750, uid: 3, gid: 3 },
    { name: 'replace/', type: 'directory' },
    { name: 'replace/dir-becomes-file', data: 'now a file' },
    { name: 'replace/file-becomes-dir/', type: 'directory', mode: 0o700 },
    { name: 'replace/file-becomes-dir/child', data: 'c2' },
    { name: 'bin/', type: 'directory' },
    { name: 'bin/newlink-target', data: 'target in layer 2', mode: 0o640 },
    { name: 'bin/newlink', type: 'link', linkname: 'bin/newlink-target' },
  ];
  if (vfsOnly) {
    l2.push({ name: 'lib/through-symlink', data: 'written below a lower symlink' });
    l2.push({ name: 'bin/su-link2', type: 'link', linkname: 'bin/su' });
  }
  const l3: E[] = [
    { name: 'bin/', type: 'directory' },
    { name: 'bin/sg', data: 'setgid binary v2', mode: 0o2755, gid: 42, mtime: T0 + 5 },
    { name: 'etc/', type: 'directory' },
    { name: 'etc/abs-link', data: 'symlink replaced by a file' },
    { name: 'opaque/', type: 'directory', mode: 0o755 },
    { name: 'opaque/.wh.new' },
    { name: 'opaque/l3', data: 'layer 3' },
  ];
  return [l1, l2, l3];
}

async function buildLayers(layers: E[][]): Promise<Array<{ tar: Buffer; blob: Buffer }>> {
  const out = [];
  for (const l of layers) {
    const tar = await makeTar(l);
    out.push({ tar, blob: gzip(tar) });
  }
  return out;
}

function writeLayout(dir: string, layers: Array<{ tar: Buffer; blob: Buffer }>): void {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (b: Buffer): { digest: string; size: number } => {
    const d = sha256(b);
    writeFileSync(join(dir, 'blobs', 'sha256', d.slice(7)), b);
    return { digest: d, size: b.length };
  };
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {},
      rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l.tar)) },
      history: layers.map(() => ({ created_by: 'test' })),
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...put(config) },
      layers: layers.map((l) => ({ mediaType: TGZ, ...put(l.blob) })),
    }),
  );
  const m = put(manifest);
  writeFileSync(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m, annotations: { 'org.opencontainers.image.ref.name': 'tag' } }],
    }),
  );
}

async function vfsApply(t: TestContext, layers: Array<{ tar: Buffer; blob: Buffer }>): Promise<string> {
  const root = join(await tempDir(t, 'tsd-unpack-vfs-'), 'rootfs');
  mkdirSync(root);
  for (const l of layers) {
    const r = await applyLayer(root, l.blob, { mediaType: TGZ, mode: 'vfs', expectedDiffId: sha256(l.tar) });
    assert.deepEqual(r.warnings, []);
  }
  return root;
}

const notRootDirMtime = (p: string, f: string): boolean => p === '.' && (f === 'mode' || f === 'uid' || f === 'gid');

test('vfs mode produces the same tree as umoci unpack', async (t) => {
  if (!need(t, { programs: ['umoci'], root: true })) return;
  const layers = await buildLayers(imageLayers(true));
  const work = await tempDir(t, 'tsd-unpack-umoci-');
  writeLayout(join(work, 'image'), layers);
  run('umoci', ['unpack', '--image', `${join(work, 'image')}:tag`, join(work, 'bundle')]);
  const ours = await vfsApply(t, layers);
  const theirs = join(work, 'bundle', 'rootfs');
  const a = snapshot(ours, { mtimes: true, xattrs: true });
  const b = snapshot(theirs, { mtimes: true, xattrs: true });
  assert.ok(a.size >= 30, `only ${a.size} paths unpacked`);
  const diffs = diffTrees(a, b, notRootDirMtime);
  assert.deepEqual(diffs, []);
  // spot checks that the image exercised what it claims
  assert.equal(a.get('bin/su')!.mode, 0o4755);
  assert.equal(a.get('tmp')!.mode, 0o1777);
  assert.equal(a.get('usr/lib/through-symlink')?.type, 'file');
  assert.equal(a.get('lib')!.type, 'symlink');
  assert.ok(!a.has('etc/gone') && !a.has('del') && !a.has('opaque/old1') && !a.has('opaque/sub') && !a.has('opaque/new'));
  assert.equal(a.get('bin/su-link2')!.ino, a.get('bin/su')!.ino);
});

test('overlay mode: the upper dirs mounted as an overlay equal the vfs tree', async (t) => {
  if (!need(t, { root: true })) return;
  const layers = await buildLayers(imageLayers(false));
  const vfs = await vfsApply(t, layers);
  const work = await tempDir(t, 'tsd-unpack-ovl-');
  const uppers: string[] = [];
  for (const [i, l] of layers.entries()) {
    const up = join(work, `l${i}`);
    mkdirSync(up);
    const r = await applyLayer(up, l.blob, { mediaType: TGZ, mode: 'overlay', expectedDiffId: sha256(l.tar) });
    assert.deepEqual(r.warnings, []);
    uppers.push(up);
  }
  // layer 2's whiteouts and opaque dir, as overlayfs wants them
  const l1 = snapshot(uppers[1]!, { xattrs: true });
  assert.equal(l1.get('etc/gone')!.type, 'char');
  assert.equal(l1.get('etc/gone')!.rdev, 0);
  assert.equal(l1.get('del')!.type, 'char');
  assert.equal(l1.get('opaque')!.xattrs?.['trusted.overlay.opaque'], Buffer.from('y').toString('base64'));

  // Its own directory and one hook that unmounts before removing (after-hooks run in order, and
  // tempDir's removal was registered first).
  const merged = mkdtempSync(join(tmpdir(), 'tsd-unpack-merged-'));
  t.after(() => {
    spawnSync('umount', [merged]);
    rmdirSync(merged);
  });
  run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${[...uppers].reverse().join(':')}`, merged]);
  const a = snapshot(vfs, { mtimes: true });
  const b = snapshot(merged, { mtimes: true });
  assert.ok(b.size >= 25, `only ${b.size} paths in the merged view`);
  assert.deepEqual(diffTrees(a, b, notRootDirMtime), []);
});

test('overlay and vfs differ (by design) only for a write below a lower-layer symlink', async (t) => {
  if (!need(t, { root: true })) return;
  const layers = await buildLayers([
    [
      { name: 'usr/', type: 'directory' },
      { name: 'usr/lib/', type: 'directory' },
      { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
    ],
    [{ name: 'lib/x', data: 'x' }],
  ]);
  const vfs = await vfsApply(t, layers);
  const v = snapshot(vfs);
  assert.equal(v.get('lib')!.type, 'symlink');
  assert.equal(v.get('usr/lib/x')!.type, 'file');
  const work = await tempDir(t, 'tsd-unpack-ovl2-');
  const up = join(work, 'up');
  mkdirSync(up);
  await applyLayer(up, layers[1]!.blob, { mediaType: TGZ, mode: 'overlay' });
  const o = snapshot(up);
  assert.equal(o.get('lib')!.type, 'dir'); // docker/containerd overlay semantics: a real directory in the upper layer
  assert.equal(o.get('lib/x')!.type, 'file');
});
