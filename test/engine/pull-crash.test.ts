/**
 * A pulling process killed with SIGKILL (mid-download, mid-extraction) leaves a data root that a
 * fresh engine opens cleanly: only verified blobs in the content store, only committed snapshots
 * of whole layers (the half-made one is removed), no image record; the next pull fetches only the
 * blobs that are missing and ends with the complete image.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import type { Digest } from '../../shared/digest.js';
import { openEngine } from '../../engine/images/open-engine.js';
import { pullImage } from '../../engine/images/pull.js';
import { chainIds } from '../../engine/images/unpack-image.js';
import { need, tempDir } from '../helpers/env.js';
import { startRegistry } from '../helpers/registry.js';
import { assertFiles, imageOf, push, randomLayer, snapshotKeys, startRegistryProxy, type RegistryProxy } from './pull-lib.js';
import type { JSONMessage } from '../../engine/images/json-message.js';

const child = fileURLToPath(new URL('./pull-crash-child.js', import.meta.url));

/** Run the child until `killWhen` says so (or it ends); returns its messages and whether it finished. */
async function pullUntil(dataRoot: string, driver: string, reference: string, killWhen: (m: JSONMessage[]) => boolean | Promise<boolean>): Promise<{ messages: JSONMessage[]; finished: boolean }> {
  const proc = spawn(process.execPath, [child, dataRoot, driver, reference], { stdio: ['ignore', 'pipe', 'inherit'] });
  const messages: JSONMessage[] = [];
  let finished = false;
  let buffered = '';
  const exited = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  let kill = false;
  const check = async () => {
    if (!kill && (await killWhen(messages))) {
      kill = true;
      if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid!, 'SIGKILL');
    }
  };
  proc.stdout!.on('data', (d: Buffer) => {
    buffered += d.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      if (line === 'done') finished = true;
      else if (line) messages.push(JSON.parse(line) as JSONMessage);
    }
    void check();
  });
  const timer = setInterval(() => void check(), 20);
  const deadline = setTimeout(() => proc.exitCode === null && process.kill(proc.pid!, 'SIGKILL'), 60_000);
  await exited;
  clearInterval(timer);
  clearTimeout(deadline);
  return { messages, finished };
}

/** The invariants after a kill: verified blobs only, committed whole layers only (bottom up), no record. */
async function assertConsistent(dataRoot: string, driver: 'overlay' | 'vfs', chains: string[]): Promise<Digest[]> {
  const engine = await openEngine({ dataRoot, storageDriver: driver, unpackWorkers: 1 });
  try {
    const stored: Digest[] = [];
    for await (const d of engine.content.list()) {
      const bytes = await engine.content.get(d);
      assert.equal(`sha256:${createHash('sha256').update(bytes).digest('hex')}`, d, 'a stored blob hashes to its name');
      stored.push(d);
    }
    assert.deepEqual(engine.images.all(), [], 'no image record before a pull completes');
    const keys = (await snapshotKeys(engine)).filter((k) => k.startsWith('committed:')).map((k) => k.slice('committed:'.length));
    const n = keys.length;
    assert.deepEqual(new Set(keys), new Set(chains.slice(0, n)), 'the committed snapshots are the bottom layers');
    return stored;
  } finally {
    await engine.close();
  }
}

for (const driver of ['overlay', 'vfs'] as const) {
  describe(`a pull killed with SIGKILL on ${driver}`, () => {
    it('mid-download and mid-extraction, then a fresh engine pulls the rest, consistently', async (t) => {
      if (!need(t, { root: true, programs: ['skopeo'] })) return;
      const reg = await startRegistry(t);
      const proxy: RegistryProxy = await startRegistryProxy(t, reg.url);
      const layers = [await randomLayer(30, 150_000), await randomLayer(2, 10_000), await randomLayer(30, 150_000), await randomLayer(3, 100_000)];
      const image = imageOf(layers);
      await push(t, reg.host, 'crash/app:1', image);
      const chains = chainIds(layers.map((l) => l.diffId as Digest));
      const ref = `${proxy.host}/crash/app:1`;
      const dataRoot = await tempDir(t, 'tsd-pull-crash-');

      // 1. Killed while the top layer's download is held part way (others done or extracting).
      proxy.holdAfter.set(layers[3]!.digest, 50_000);
      let held = false;
      void proxy.held.then(() => (held = true));
      const first = await pullUntil(dataRoot, driver, ref, () => held);
      assert.equal(first.finished, false);
      proxy.release();
      let stored = await assertConsistent(dataRoot, driver, chains);
      assert.ok(!stored.includes(layers[3]!.digest as Digest), 'the held blob is not stored');

      // 2. Killed mid-extraction of a big layer.
      const second = await pullUntil(dataRoot, driver, ref, (m) => m.some((x) => x.status === 'Extracting' && (x.progressDetail?.current ?? 0) < (x.progressDetail?.total ?? 0)));
      assert.equal(second.finished, false, 'killed before the end');
      stored = await assertConsistent(dataRoot, driver, chains);

      // 3. A fresh engine pulls to the end, fetching only the missing blobs.
      proxy.reset();
      const engine = await openEngine({ dataRoot, storageDriver: driver, unpackWorkers: 2 });
      t.after(() => engine.close());
      const r = await pullImage(engine, ref);
      assert.equal(r.image.id, image.config.digest);
      for (const d of proxy.blobGets.keys()) assert.ok(!stored.includes(d as Digest), `${d} was already stored and fetched again`);
      for (const l of layers) assert.ok(stored.includes(l.digest as Digest) || proxy.blobGets.get(l.digest) === 1);
      assert.deepEqual(await snapshotKeys(engine), chains.map((c) => `committed:${c}`).sort(), 'no stale active snapshot left');
      await assertFiles(t, engine, chains[3]!, layers);
    });
  });
}
