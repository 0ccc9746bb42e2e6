import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { it } from 'node:test';
import { tempDir } from '../helpers/env.js';
import { OciClient, randomBlob, sha256, type Blob } from '../helpers/oci-client.js';
import { startRegistry } from '../helpers/registry.js';

/**
 * Pushes (reusing a shared pool of layers, so pushes race the collector for old blobs), tag moves,
 * deletes and garbage collection every second with no grace period, all at once for SOAK_SECONDS
 * (default 30; run longer by hand). Then every tagged image must pull whole and every blob verify.
 */
it('soak: pushes, deletes and online GC together leave every tagged image whole', { timeout: 600_000 }, async (t) => {
  const seconds = Number(process.env.SOAK_SECONDS ?? 30);
  const root = join(await tempDir(t), 'data');
  const reg = await startRegistry(t, { config: { storage: { filesystem: { rootdirectory: root }, delete: { enabled: true } }, gc: { interval: '1s', graceperiod: '0s' } } });
  const c = new OciClient(reg.url);
  const shared: Blob[] = Array.from({ length: 12 }, () => randomBlob(20_000));
  const repos = ['soak/a', 'soak/b', 'soak/c'];
  const deadline = Date.now() + seconds * 1000;
  const stats = { pushed: 0, refused: 0, deleted: 0 };

  async function pushImage(repo: string, tag: string): Promise<void> {
    // Blobs that exist are skipped after a HEAD, like a real client: exactly the case where GC can
    // take a blob between the HEAD and the manifest PUT.
    const layers = [shared[Math.floor(Math.random() * shared.length)]!, randomBlob(5000)];
    const config = Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', n: randomBytes(4).toString('hex') }));
    const blobs = [{ data: config, digest: sha256(config), size: config.length }, ...layers];
    for (const b of blobs) if ((await c.headBlob(repo, b.digest)).status !== 200) await c.pushBlob(repo, b);
    const manifest = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blobs[0]!.digest, size: blobs[0]!.size },
      layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
    };
    const r = await c.putManifest(repo, tag, { bytes: Buffer.from(JSON.stringify(manifest)), mediaType: manifest.mediaType });
    if (r.status === 201) stats.pushed++;
    else if (r.status === 400 && r.json().errors[0].code === 'MANIFEST_BLOB_UNKNOWN') stats.refused++; // GC won the race: the push failed cleanly
    else assert.fail(`unexpected manifest PUT answer ${r.status} ${r.text()}\n--- registry log (tail)\n${reg.output().slice(-4000)}`);
  }

  async function worker(id: number): Promise<void> {
    let i = 0;
    while (Date.now() < deadline) {
      const repo = repos[(id + i) % repos.length]!;
      const tag = `t${i % 6}`;
      if (i % 5 === 4) {
        const m = await c.headManifest(repo, tag);
        if (m.status === 200 && (await c.deleteManifest(repo, m.headers.get('docker-content-digest')!)).status === 202) stats.deleted++;
      } else {
        await pushImage(repo, tag);
      }
      i++;
    }
  }
  await Promise.all([0, 1, 2, 3].map(worker));

  // Verify: every tag's manifest, config and layers are there and hash right.
  let images = 0;
  for (const repo of repos) {
    const tags = (await c.listTags(repo)).json().tags as string[];
    for (const tag of tags) {
      const m = await c.getManifest(repo, tag);
      assert.equal(m.status, 200, `${repo}:${tag}`);
      assert.equal(sha256(m.body), m.headers.get('docker-content-digest'));
      const doc = m.json();
      for (const d of [doc.config, ...doc.layers]) {
        const b = await c.getBlob(repo, d.digest);
        assert.equal(b.status, 200, `${repo}:${tag} needs ${d.digest}`);
        assert.equal(sha256(b.body), d.digest);
      }
      images++;
    }
  }
  await reg.stop();
  t.diagnostic(`soak ${seconds}s: ${stats.pushed} pushes, ${stats.refused} refused by the GC race, ${stats.deleted} deletes; ${images} tagged images verified`);
  assert.ok(stats.pushed > 20 && images > 0, `the soak did real work: ${JSON.stringify(stats)}`);
});
