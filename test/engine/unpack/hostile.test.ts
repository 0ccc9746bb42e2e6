/**
 * Hostile layers: every case runs with both resolvers (openat2 and the forced component-by-component
 * walk) and, after it, proves that nothing outside the root changed: a sentinel directory beside
 * the root, a decoy directory under /tmp, /etc/passwd (identity and link count) and a list of
 * absolute names the layers aim for. Cases that the design resolves inside the root (symlinks to
 * `/` or `../../..`, like umoci and RESOLVE_IN_ROOT do) must succeed AND land inside the root.
 */
import assert from 'node:assert/strict';
import { existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { isTsdError } from '../../../shared/errors.js';
import { applyLayer, type ApplyOptions, type ApplyResult } from '../../../engine/unpack/index.js';
import { need } from '../../helpers/env.js';
import { arena, gzip, makeTar, sha256, TAR, TGZ, type Arena, type E } from './lib.js';

interface Case {
  name: string;
  lower?: (a: Arena) => E[];
  layer: (a: Arena) => E[];
  /** Expected error: code and detail.reason; absent = must succeed. */
  error?: { code: string; reason?: string };
  check?: (a: Arena, r: ApplyResult) => void;
  options?: Partial<ApplyOptions>;
}

const decoyName = (a: Arena): string => basename(a.decoy);

const cases: Case[] = [
  { name: '../../etc/x climbs out', layer: () => [{ name: '../../etc/x', data: 'x' }], error: { code: 'INVALID_ARGUMENT', reason: 'path-escape' } },
  { name: 'a/../../sentinel/x climbs out after a lexical ..', layer: () => [{ name: 'a/../../sentinel/x', data: 'x' }], error: { code: 'INVALID_ARGUMENT', reason: 'path-escape' } },
  { name: '/abs is refused', layer: () => [{ name: '/abs', data: 'x' }], error: { code: 'INVALID_ARGUMENT', reason: 'absolute-path' } },
  {
    name: 'symlink evil -> / then evil/etc/passwd lands in the root',
    layer: () => [
      { name: 'evil', type: 'symlink', linkname: '/' },
      { name: 'evil/etc/passwd', data: 'root::0:0::/:/bin/sh\n' },
    ],
    check: (a) => assert.equal(readFileSync(join(a.root, 'etc/passwd'), 'utf8'), 'root::0:0::/:/bin/sh\n'),
  },
  {
    name: 'symlink up -> ../../.. then up/sentinel/pwned lands in the root',
    layer: () => [
      { name: 'up', type: 'symlink', linkname: '../../..' },
      { name: 'up/sentinel/pwned', data: 'x' },
    ],
    check: (a) => assert.ok(existsSync(join(a.root, 'sentinel/pwned'))),
  },
  {
    name: 'symlink to the decoy by absolute path, then a write through it',
    layer: (a) => [
      { name: 'd', type: 'symlink', linkname: a.decoy },
      { name: 'd/pwned', data: 'x' },
    ],
    check: (a) => assert.ok(existsSync(join(a.root, a.decoy.slice(1), 'pwned'))),
  },
  {
    name: 'a lower layer symlink to ../.. then a later layer writes through it (vfs)',
    lower: () => [{ name: 'lib', type: 'symlink', linkname: '../../../../../tmp' }],
    layer: (a) => [{ name: `lib/${decoyName(a)}/pwned`, data: 'x' }],
    check: (a) => assert.ok(existsSync(join(a.root, 'tmp', decoyName(a), 'pwned'))),
  },
  {
    name: 'a chain of symlinks (relative, absolute, ..) stays inside',
    layer: (a) => [
      { name: 'a', type: 'symlink', linkname: 'b/../../c' },
      { name: 'c', type: 'symlink', linkname: `/../../${a.decoy}` },
      { name: 'a/pwned', data: 'x' },
    ],
    check: (a) => assert.ok(existsSync(join(a.root, a.decoy.slice(1), 'pwned'))),
  },
  {
    name: 'a dangling symlink as a parent is resolved inside the root',
    layer: () => [
      { name: 'dangling', type: 'symlink', linkname: '/nonexistent/deeper' },
      { name: 'dangling/pwned', data: 'x' },
    ],
    check: (a) => assert.ok(existsSync(join(a.root, 'nonexistent/deeper/pwned'))),
  },
  {
    name: 'a symlink loop as a parent',
    layer: () => [
      { name: 'loop', type: 'symlink', linkname: 'loop' },
      { name: 'loop/x', data: 'x' },
    ],
    error: { code: 'INVALID_ARGUMENT' },
  },
  {
    name: 'a regular file as a parent',
    layer: () => [
      { name: 'f', data: 'x' },
      { name: 'f/x', data: 'x' },
    ],
    error: { code: 'INVALID_ARGUMENT', reason: 'invalid-name' },
  },
  { name: 'hardlink to /etc/passwd', layer: () => [{ name: 'h', type: 'link', linkname: '/etc/passwd' }], error: { code: 'INVALID_ARGUMENT', reason: 'hardlink-escape' } },
  { name: 'hardlink to ../../etc/passwd', layer: () => [{ name: 'h', type: 'link', linkname: '../../../etc/passwd' }], error: { code: 'INVALID_ARGUMENT', reason: 'hardlink-escape' } },
  {
    name: 'hardlink to a path through a symlink to /etc (no etc in the root)',
    layer: () => [
      { name: 'etcl', type: 'symlink', linkname: '/etc' },
      { name: 'h', type: 'link', linkname: 'etcl/passwd' },
    ],
    error: { code: 'INVALID_ARGUMENT', reason: 'hardlink-missing' },
  },
  {
    name: 'hardlink through a symlink to /etc links the root\'s own etc/passwd',
    layer: () => [
      { name: 'etc/passwd', data: 'inside' },
      { name: 'etcl', type: 'symlink', linkname: '/etc' },
      { name: 'h', type: 'link', linkname: 'etcl/passwd' },
    ],
    check: (a) => assert.equal(lstatSync(join(a.root, 'h')).ino, lstatSync(join(a.root, 'etc/passwd')).ino),
  },
  { name: 'hardlink to a missing target', layer: () => [{ name: 'h', type: 'link', linkname: 'nope' }], error: { code: 'INVALID_ARGUMENT', reason: 'hardlink-missing' } },
  { name: 'whiteout ../.wh.x', layer: () => [{ name: '../.wh.sentinel' }], error: { code: 'INVALID_ARGUMENT', reason: 'path-escape' } },
  { name: 'whiteout of ".." (.wh...)', layer: () => [{ name: 'a/.wh..' + '.' }], error: { code: 'INVALID_ARGUMENT', reason: 'whiteout-invalid' } },
  {
    name: 'whiteout through a symlink to / only deletes inside the root',
    lower: () => [
      { name: 'etc/', type: 'directory' },
      { name: 'etc/passwd', data: 'lower' },
      { name: 'up', type: 'symlink', linkname: '/' },
    ],
    layer: () => [{ name: 'up/etc/.wh.passwd' }],
    check: (a) => assert.ok(!existsSync(join(a.root, 'etc/passwd'))),
  },
  {
    name: 'opaque marker below a symlink to .. only clears inside the root',
    lower: () => [
      { name: 'keep/', type: 'directory' },
      { name: 'keep/me', data: 'x' },
      { name: 'dotdot', type: 'symlink', linkname: '..' },
    ],
    layer: () => [{ name: 'dotdot/.wh..wh..opq' }],
    check: (a) => assert.ok(!existsSync(join(a.root, 'keep'))), // the root itself was made opaque
  },
  {
    name: 'PAX path with ..',
    layer: () => [{ name: `../../${'p'.repeat(120)}`, data: 'x', pax: { comment: 'forces a PAX header' } }],
    error: { code: 'INVALID_ARGUMENT', reason: 'path-escape' },
  },
  {
    name: 'PAX linkpath escaping for a hardlink',
    layer: () => [{ name: 'h', type: 'link', linkname: `../../${'q'.repeat(120)}` }],
    error: { code: 'INVALID_ARGUMENT', reason: 'hardlink-escape' },
  },
  {
    name: 'overlayfs xattrs in a layer are not applied',
    layer: () => [{ name: 'f', data: 'x', pax: { 'SCHILY.xattr.trusted.overlay.redirect': '/etc', 'SCHILY.xattr.user.ok': 'yes' } }],
    check: (a, r) => {
      assert.ok(existsSync(join(a.root, 'f')));
      assert.equal(r.warnings.length, 1);
      assert.match(r.warnings[0]!, /trusted\.overlay\.redirect ignored/);
    },
  },
  {
    name: 'a device node when not privileged',
    layer: () => [{ name: 'sda', type: 'block-device', devmajor: 8, devminor: 0 }],
    options: { privileged: false },
    error: { code: 'UNSUPPORTED', reason: 'device-unprivileged' },
  },
  {
    name: 'more entries than maxEntries',
    layer: () => Array.from({ length: 101 }, (_, i) => ({ name: `f${i}`, data: '' })),
    options: { maxEntries: 100 },
    error: { code: 'INVALID_ARGUMENT', reason: 'too-many-entries' },
  },
];

for (const resolver of ['openat2', 'walk'] as const) {
  for (const c of cases) {
    test(`${resolver}: ${c.name}`, async (t) => {
      if (!need(t, { root: true })) return;
      const a = await arena(t);
      if (c.lower) await applyLayer(a.root, await makeTar(c.lower(a)), { mediaType: TAR, mode: 'vfs', resolver });
      const tar = await makeTar(c.layer(a));
      const opts: ApplyOptions = { mediaType: TGZ, mode: 'vfs', resolver, expectedDiffId: sha256(tar), ...c.options };
      const p = applyLayer(a.root, gzip(tar), opts);
      if (c.error) {
        const err = await p.then(
          () => assert.fail('expected an error'),
          (e: unknown) => e,
        );
        assert.ok(isTsdError(err), `not a TsdError: ${String(err)}`);
        assert.equal(err.code, c.error.code, err.message);
        if (c.error.reason) assert.equal((err.detail as { reason?: string }).reason, c.error.reason, err.message);
      } else {
        const r = await p;
        assert.equal(r.resolver, resolver);
        c.check?.(a, r);
      }
      a.assertUntouched();
    });
  }
}

test('a truncated gzip stream fails and writes nothing outside', async (t) => {
  if (!need(t, { root: true })) return;
  const a = await arena(t);
  const tar = await makeTar(Array.from({ length: 50 }, (_, i) => ({ name: `f${i}`, data: 'x'.repeat(1000 + i) })));
  const gz = gzip(tar);
  const err = await applyLayer(a.root, gz.subarray(0, gz.length - 100), { mediaType: TGZ, mode: 'vfs' }).catch((e: unknown) => e);
  assert.ok(isTsdError(err, 'INVALID_ARGUMENT'), String(err));
  assert.equal((err.detail as { reason: string }).reason, 'compression-invalid');
  a.assertUntouched();
});

test('a truncated tar stream (uncompressed) fails', async (t) => {
  if (!need(t, { root: true })) return;
  const a = await arena(t);
  const tar = await makeTar([{ name: 'big', data: Buffer.alloc(100_000, 1) }]);
  const err = await applyLayer(a.root, tar.subarray(0, 50_000), { mediaType: TAR, mode: 'vfs' }).catch((e: unknown) => e);
  assert.ok(isTsdError(err, 'INVALID_ARGUMENT'), String(err));
  assert.equal((err.detail as { reason: string }).reason, 'tar-invalid');
  a.assertUntouched();
});

test('a wrong DiffID is DIGEST_INVALID with the actual digest', async (t) => {
  if (!need(t, { root: true })) return;
  const a = await arena(t);
  const tar = await makeTar([{ name: 'f', data: 'x' }]);
  const wrong = sha256(Buffer.from('something else'));
  const err = await applyLayer(a.root, gzip(tar), { mediaType: TGZ, mode: 'vfs', expectedDiffId: wrong }).catch((e: unknown) => e);
  assert.ok(isTsdError(err, 'DIGEST_INVALID'), String(err));
  assert.deepEqual(err.detail, { expected: wrong, actual: sha256(tar) });
  a.assertUntouched();
});

test('a mislabelled layer (declared gzip, plain tar) fails clearly', async (t) => {
  if (!need(t, { root: true })) return;
  const a = await arena(t);
  const tar = await makeTar([{ name: 'f', data: 'x' }]);
  const err = await applyLayer(a.root, tar, { mediaType: TGZ, mode: 'vfs' }).catch((e: unknown) => e);
  assert.ok(isTsdError(err, 'INVALID_ARGUMENT'), String(err));
  assert.equal((err.detail as { reason: string }).reason, 'compression-mismatch');
  const err2 = await applyLayer(a.root, tar, { mediaType: 'application/x-nope', mode: 'vfs' }).catch((e: unknown) => e);
  assert.ok(isTsdError(err2, 'UNSUPPORTED'), String(err2));
});

// Inode creation on this shared VM's ext4 costs 0.2-1 ms (GNU tar is no faster), so most of the
// entries are whiteouts of absent names: they exercise parsing, resolution and bookkeeping per
// entry without making the test's time depend on the disk.
test('a layer of 20,000 entries applies in bounded time', async (t) => {
  if (!need(t, { root: true })) return;
  const a = await arena(t);
  const entries: E[] = [];
  for (let d = 0; d < 100; d++) {
    entries.push({ name: `d${d}/`, type: 'directory' });
    for (let f = 0; f < 19; f++) entries.push({ name: `d${d}/f${f}`, data: `${d}/${f}` });
    for (let w = 0; w < 180; w++) entries.push({ name: `d${d}/.wh.absent${w}` });
  }
  const tar = await makeTar(entries);
  const started = Date.now();
  const r = await applyLayer(a.root, gzip(tar), { mediaType: TGZ, mode: 'vfs', expectedDiffId: sha256(tar) });
  const ms = Date.now() - started;
  t.diagnostic(`20,000 entries in ${ms} ms (${r.resolver})`);
  assert.equal(r.entries, 20_000);
  assert.ok(ms < 60_000, `took ${ms} ms`);
  assert.equal(readFileSync(join(a.root, 'd99/f18'), 'utf8'), '99/18');
  a.assertUntouched();
});

test('the arena notices a write beside the root (self-test of the checks above)', async (t) => {
  const a = await arena(t);
  writeFileSync(join(a.sentinel, 'new'), 'x');
  assert.throws(() => a.assertUntouched(), /changed beside the root/);
  const b = await arena(t);
  writeFileSync(join(b.decoy, 'keep'), 'changed');
  assert.throws(() => b.assertUntouched(), /decoy/);
});
