// The tar written from a directory tree, read back by two real readers: GNU tar (extracting with
// xattrs) and our own layer unpacker. Both must rebuild the tree: long and non-ASCII names, a long
// symlink target, hardlinks, a fifo, a device, setuid and sticky bits, an owner beyond ustar's
// octal range, binary xattrs, whole-second times. And gzipMembers: several members, stored ones
// for incompressible data, read back as one stream.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { applyLayer } from '../unpack/apply.js';
import { lgetxattrs, lsetxattr } from '../sys/libc.js';
import { gzipMembers, treeTar } from './commit-layer.js';
import { mknod } from '../snapshots/native.js';

const root = process.getuid?.() === 0;

async function scratch(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tsd-layer-tar-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function describe(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const inodes = new Map<bigint, string>();
  const visit = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(dir, rel))).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const full = join(dir, path);
      const st = await lstat(full, { bigint: true });
      let body = '';
      if (st.isFile()) body = createHash('sha256').update(await readFile(full)).digest('hex');
      if (st.isSymbolicLink()) body = await readlink(full);
      if (st.isCharacterDevice()) body = String(st.rdev);
      const x = [...lgetxattrs(full)].map(([k, v]) => `${k}=${v.toString('hex')}`).sort().join(',');
      const group = !st.isDirectory() && st.nlink > 1n ? (inodes.get(st.ino) ?? (inodes.set(st.ino, path), path)) : '';
      out.set(path, `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.isDirectory() ? '' : st.mtimeMs / 1000n} ${body} [${x}] ${group}`);
      if (st.isDirectory()) await visit(path);
    }
  };
  await visit('');
  return out;
}

test('treeTar: GNU tar and our unpacker both rebuild the tree', async (t) => {
  if (!root) return t.skip('needs root (devices, owners, trusted xattrs)');
  const dir = await scratch(t);
  const src = join(dir, 'src');
  const longDir = `d-${'x'.repeat(120)}`;
  await mkdir(join(src, longDir, 'sub'), { recursive: true });
  await writeFile(join(src, longDir, 'sub', `file-${'y'.repeat(150)}`), 'long name\n');
  await writeFile(join(src, 'ünïcødé.txt'), 'utf-8 name\n');
  await symlink(`/${'t'.repeat(180)}/target`, join(src, 'long-link'));
  await writeFile(join(src, 'setuid'), '#!/bin/sh\n');
  await chmod(join(src, 'setuid'), 0o4755);
  await mkdir(join(src, 'sticky'));
  await chmod(join(src, 'sticky'), 0o1777);
  await writeFile(join(src, 'a'), randomBytes(70_000));
  await link(join(src, 'a'), join(src, 'sticky', 'b'));
  execFileSync('mkfifo', [join(src, 'fifo')]);
  mknod(join(src, 'null'), 0o020000 | 0o666, 259n);
  await writeFile(join(src, 'big-owner'), 'owner beyond 0o7777777\n');
  await chown(join(src, 'big-owner'), 3_000_000, 3_000_001);
  lsetxattr(join(src, 'a'), 'user.binary', Buffer.from([0, 10, 255, 61, 32]));
  lsetxattr(join(src, 'sticky'), 'trusted.note', Buffer.from('on a dir'));
  for (const p of ['a', 'setuid', 'ünïcødé.txt', 'big-owner']) await utimes(join(src, p), 1_600_000_123, 1_600_000_456);
  await utimes(join(src, 'fifo'), 1_600_000_000, 1_600_000_000);
  const expected = await describe(src);

  const chunks: Buffer[] = [];
  for await (const c of treeTar(src)) chunks.push(c);
  const tarBytes = Buffer.concat(chunks);
  assert.equal(tarBytes.length % 512, 0);

  const gnu = join(dir, 'gnu');
  await mkdir(gnu);
  const r = spawnSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xpf', '-', '-C', gnu], { input: tarBytes });
  assert.equal(r.status, 0, r.stderr.toString());
  assert.deepEqual(await describe(gnu), expected);

  const ours = join(dir, 'ours');
  await mkdir(ours);
  await applyLayer(ours, tarBytes, { mediaType: 'application/vnd.oci.image.layer.v1.tar', mode: 'vfs' });
  assert.deepEqual(await describe(ours), expected);
});

test('gzipMembers: several members, incompressible ones stored, one stream when read back', async () => {
  const text = Buffer.from('all work and no play makes jack a dull boy\n'.repeat(200_000)); // 8.8 MB
  const noise = randomBytes(5_000_000);
  const input = [text.subarray(0, 3_000_000), noise, text.subarray(3_000_000)];
  const out: Buffer[] = [];
  for await (const c of gzipMembers((async function* () { yield* input; })(), { memberSize: 1 << 20, parallel: 3 })) out.push(c);
  const gz = Buffer.concat(out);
  assert.ok(gunzipSync(gz).equals(Buffer.concat(input)));
  assert.ok(out.length >= 8, `${out.length} members`);
  // Noise is stored, not deflated: about its own size; the text shrinks a lot.
  assert.ok(gz.length > noise.length && gz.length < noise.length + 400_000, `${gz.length} bytes`);

  const small: Buffer[] = [];
  for await (const c of gzipMembers((async function* () { yield Buffer.from('tiny'); })())) small.push(c);
  assert.equal(small.length, 1);
  assert.equal(gunzipSync(Buffer.concat(small)).toString(), 'tiny');
  const empty: Buffer[] = [];
  for await (const c of gzipMembers((async function* () {})())) empty.push(c);
  assert.equal(gunzipSync(Buffer.concat(empty)).length, 0);
});
