import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { localhostLines, parseExtraHost, renderHosts, rewriteInPlace } from './hosts.js';

test('hosts content: localhost lines, --add-host, self, peers with their names once each', () => {
  const text = renderHosts({
    extraHosts: [parseExtraHost('db.local:10.0.0.9'), parseExtraHost('gw=host-gateway', '172.17.0.1')],
    self: [{ ip: '10.1.0.2', names: ['web'] }],
    peers: [{ ip: '10.1.0.3', names: ['api', 'api-alias', 'api', ''] }, { ip: '10.1.0.4', names: [] }],
  });
  assert.equal(text, `${localhostLines.join('\n')}\n10.0.0.9\tdb.local\n172.17.0.1\tgw\n10.1.0.2\tweb\n10.1.0.3\tapi api-alias\n`);
  assert.throws(() => parseExtraHost('nohost'), /bad format for add-host/);
  assert.throws(() => parseExtraHost('h:999.1.1.1'), /invalid IP address in add-host/);
  assert.deepEqual(parseExtraHost('v6:[::1]'), { name: 'v6', ip: '::1' });
});

test('rewriteInPlace keeps the inode (a bind mount of the file stays valid); onlyIfExists leaves a missing file missing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tsd-hosts-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'hosts');
  await writeFile(path, 'a much longer original content\n');
  const ino = (await stat(path)).ino;
  await rewriteInPlace(path, 'short\n', { onlyIfExists: true });
  assert.equal(await readFile(path, 'utf8'), 'short\n');
  assert.equal((await stat(path)).ino, ino);
  await rewriteInPlace(join(dir, 'missing'), 'x', { onlyIfExists: true });
  await assert.rejects(stat(join(dir, 'missing')), { code: 'ENOENT' });
});
