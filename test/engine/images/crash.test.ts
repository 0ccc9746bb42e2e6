import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import type { Digest } from '../../../shared/digest.js';
import { ImageStore, blobsOfRecord } from '../../../engine/images/index.js';
import { tempDir } from '../../helpers/env.js';

const child = fileURLToPath(new URL('./crash-child.js', import.meta.url));

async function killAfter(dataRoot: string, ms: number): Promise<number> {
  const proc = spawn(process.execPath, [child, dataRoot], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  try {
    const deadline = Date.now() + 20_000;
    while (!out.includes('ready') && Date.now() < deadline && proc.exitCode === null) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, ms));
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid!, 'SIGKILL');
    await exited;
  }
  return out.split('\n').filter((l) => /^\d+$/.test(l)).length;
}

test('a writer killed with SIGKILL at random moments leaves a valid, consistent image table', async (t) => {
  const dataRoot = await tempDir(t);
  let iterations = 0;
  for (let round = 0; round < 8; round++) {
    iterations += await killAfter(dataRoot, 150 + Math.floor(Math.random() * 400));
    // Valid JSON, every tag on one image only, every record's blobs present.
    const doc = JSON.parse(await readFile(join(dataRoot, 'images', 'images.json'), 'utf8').catch(() => '{"version":1,"images":[]}'));
    assert.equal(doc.version, 1);
    const store = await ImageStore.open(dataRoot);
    const tags = store.all().flatMap((r) => r.repoTags);
    assert.equal(new Set(tags).size, tags.length, 'a tag is on at most one image');
    for (const r of store.all()) {
      assert.equal(r.id, r.config.digest);
      for (const d of blobsOfRecord(r)) assert.ok(await store.content.has(d as Digest), `record ${r.id} lacks blob ${d}`);
      await store.inspect(r.id);
    }
    assert.deepEqual((await readdir(join(dataRoot, 'images'))).filter((n) => n.includes('.tmp-')), [], 'stale temp files are cleared on open');
  }
  assert.ok(iterations > 5, `the child made progress (${iterations} iterations)`);
});
