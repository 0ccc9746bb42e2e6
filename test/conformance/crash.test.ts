// Crash safety: SIGKILL the registry in the middle of 20 slow chunked uploads, restart it on the
// same rootDirectory, and prove that completed blobs are intact, no blob file holds bytes that do
// not hash to its path, interrupted sessions are either gone or resumable, and every upload
// restarted from scratch succeeds.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/env.js';
import {
  assertError,
  Failures,
  makeBlob,
  makeIndex,
  manifestFrom,
  MediaTypes,
  OciClient,
  requireLocation,
  sharedHooks,
  show,
  sleep,
  uniqueName,
  type Blob,
  type Manifest,
} from '../helpers/oci-client.js';
import { startRegistry } from '../helpers/registry.js';

const uploads = 20;
const blobSize = 8 * 1024 * 1024;

/** PATCH one chunk over node:http with a real Content-Length, written in small pieces with pauses. */
function slowPatch(url: string, data: Buffer, startOffset: number, pieceSize: number, pauseMs: number): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = httpRequest(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        method: 'PATCH',
        agent: false,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(data.length),
          'content-range': `${startOffset}-${startOffset + data.length - 1}`,
        },
        timeout: 30_000,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    (async () => {
      for (let off = 0; off < data.length; off += pieceSize) {
        if (req.destroyed) return;
        const ok = req.write(data.subarray(off, Math.min(off + pieceSize, data.length)));
        if (!ok) await new Promise((r) => req.once('drain', r));
        await sleep(pauseMs);
      }
      req.end();
    })().catch(reject);
  });
}

async function hashFile(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Every docker/registry/v2/blobs/sha256/xx/<hex>/data must hash to <hex>. Returns how many were checked. */
async function assertBlobFilesIntact(rootDirectory: string): Promise<number> {
  const base = join(rootDirectory, 'docker/registry/v2/blobs/sha256');
  let checked = 0;
  const prefixes = await readdir(base).catch(() => [] as string[]);
  for (const prefix of prefixes) {
    // A kill between staging and rename leaves a `.tmp-*` directory: debris the backend never lists.
    if (prefix.startsWith('.tmp-')) continue;
    for (const hex of await readdir(join(base, prefix)).catch(() => [] as string[])) {
      if (!/^[a-f0-9]{64}$/.test(hex)) continue;
      assert.equal(hex.slice(0, 2), prefix, `blob dir ${prefix}/${hex} is under the wrong prefix`);
      const data = join(base, prefix, hex, 'data');
      const entries = await readdir(join(base, prefix, hex)).catch(() => [] as string[]);
      if (!entries.includes('data')) continue;
      assert.equal(await hashFile(data), hex, `${data} does not hash to its path`);
      checked++;
    }
  }
  return checked;
}

test('SIGKILL during 20 concurrent slow chunked uploads loses nothing that completed and corrupts nothing', { timeout: 120_000 }, async (t) => {
  const { hooks, cleanup } = sharedHooks();
  t.after(cleanup);
  const dir = await tempDir(hooks, 'tsdocker-crash-');
  const rootDirectory = join(dir, 'data');
  const reg = await startRegistry(hooks, { rootDirectory });
  const c = new OciClient(reg.url);
  const name = uniqueName('crash');

  const blobs: Blob[] = Array.from({ length: uploads }, () => makeBlob(randomBytes(blobSize)));
  const completed = new Set<number>();
  const sessions: Array<string | undefined> = new Array(uploads);
  let killed = false;

  const probe = await c.startUpload(name);
  const minChunk = Number(probe.headers.get('oci-chunk-min-length') ?? '1');
  await c.cancelUpload(requireLocation(probe));
  const chunkSize = Math.max(1024 * 1024, minChunk);

  const run = async (i: number): Promise<void> => {
    const blob = blobs[i]!;
    const s = await c.startUpload(name);
    assert.equal(s.status, 202, show(s));
    let loc = c.url(requireLocation(s));
    sessions[i] = loc;
    // later uploads go slower, so the kill finds some finished, some mid-chunk, some mid-PUT
    const pause = 2 + i;
    for (let off = 0; off < blob.size; off += chunkSize) {
      const part = blob.data.subarray(off, Math.min(off + chunkSize, blob.size));
      const r = await slowPatch(loc, part, off, 128 * 1024, pause);
      assert.equal(r.status, 202, `PATCH ${i} at ${off}: ${r.status}`);
      loc = c.url(String(r.headers.location));
      sessions[i] = loc;
    }
    const f = await c.finishUpload(loc, blob.digest);
    assert.equal(f.status, 201, show(f));
    if (!killed) completed.add(i);
  };

  // meanwhile, keep pushing small images to tags, so the kill also lands in manifest and tag writes
  const tagged = new Map<string, string>();
  const lateConfirmed = new Map<string, string>();
  let inFlight: { tag: string; digest: string } | undefined;
  const manifestName = `${name}/manifests`;
  const images: Array<Awaited<ReturnType<OciClient['makeImage']>>> = [];
  for (let k = 0; k < 24; k++) images.push(await c.makeImage(manifestName, { layers: 1, layerSize: 64 }));
  const pushManifests = async (): Promise<void> => {
    for (let k = 0; !killed && k < 100_000; k++) {
      const img = images[k % images.length]!;
      const tag = `t${k % 7}`;
      inFlight = { tag, digest: img.digest };
      const r = await c.putManifest(manifestName, tag, img);
      assert.equal(r.status, 201, show(r));
      if (!killed) tagged.set(tag, img.digest);
      else lateConfirmed.set(tag, img.digest); // answered between the kill decision and the kill
      inFlight = undefined;
    }
  };

  const t0 = Date.now();
  const phase = (what: string) => t.diagnostic(`${what} at ${Date.now() - t0} ms`);
  const all = Promise.allSettled([...blobs.map((_, i) => run(i)), pushManifests()]);
  // kill once a few have completed (or after a bound), while the rest are in flight
  const deadline = Date.now() + 30_000;
  while (completed.size < 4 && Date.now() < deadline) await sleep(20);
  killed = true;
  phase('kill');
  const done = new Set(completed);
  await reg.kill();
  const results = await all;
  const failedInFlight = results.slice(0, uploads).filter((r) => r.status === 'rejected').length;
  t.diagnostic(`completed before kill: ${done.size}; interrupted: ${failedInFlight}`);
  assert.ok(done.size >= 1, 'no upload completed before the kill (machine too slow?)');
  assert.ok(failedInFlight >= 1, 'every upload finished before the kill: nothing was interrupted');

  // restart on the same data and port
  const reg2 = await startRegistry(hooks, { rootDirectory, port: reg.port });
  phase('restarted');
  const c2 = new OciClient(reg2.url);

  for (const i of done) {
    const r = await c2.getBlob(name, blobs[i]!.digest);
    assert.equal(r.status, 200, `completed blob ${i} lost after the crash: ${show(r)}`);
    assert.equal(r.body.length, blobSize);
    assert.equal(makeBlob(r.body).digest, blobs[i]!.digest, `completed blob ${i} corrupted`);
  }
  // every tag resolves to a manifest whose bytes match its digest; a confirmed tag to the manifest
  // confirmed last, or to one pushed after it (answered late, or in flight at the kill)
  const tagList = await c2.listTags(manifestName);
  assert.equal(tagList.status, 200, show(tagList));
  const listedTags = tagList.json<{ tags: string[] }>().tags;
  for (const tag of tagged.keys()) assert.ok(listedTags.includes(tag), `confirmed tag ${tag} lost: ${show(tagList)}`);
  for (const tag of listedTags) {
    const g = await c2.getManifest(manifestName, tag);
    assert.equal(g.status, 200, `tag ${tag} is listed but does not resolve after the crash: ${show(g)}`);
    const got = g.headers.get('docker-content-digest');
    const allowed = [tagged.get(tag), lateConfirmed.get(tag), inFlight?.tag === tag ? inFlight.digest : undefined].filter((d) => d !== undefined);
    if (tagged.has(tag)) assert.ok(allowed.includes(got!), `tag ${tag} resolves to ${got}, expected one of ${allowed.join(', ')}`);
    assert.equal(makeBlob(g.body).digest, g.headers.get('docker-content-digest'), `tag ${tag}: bytes do not match the digest`);
    const byDigest = await c2.getManifest(manifestName, g.headers.get('docker-content-digest')!);
    assert.equal(byDigest.status, 200, show(byDigest));
    const m = JSON.parse(g.body.toString('utf8')) as { config: { digest: string }; layers: Array<{ digest: string }> };
    for (const d of [m.config.digest, ...m.layers.map((l) => l.digest)]) {
      const h = await c2.headBlob(manifestName, d);
      assert.equal(h.status, 200, `tag ${tag} references blob ${d}, which is gone after the crash: ${show(h)}`);
    }
  }
  t.diagnostic(`tags confirmed before kill: ${tagged.size}; listed after restart: ${listedTags.length}`);

  const checked = await assertBlobFilesIntact(rootDirectory);
  assert.ok(checked >= done.size, `only ${checked} blob files found for ${done.size} completed uploads`);

  // interrupted sessions: either gone, or resumable from the Range the server reports
  let dropped = 0;
  let resumed = 0;
  for (let i = 0; i < uploads; i++) {
    if (done.has(i) || !sessions[i]) continue;
    const st = await c2.uploadStatus(sessions[i]!);
    if (st.status === 404) {
      dropped++;
      continue;
    }
    resumed++;
    if (st.status === 201 || st.status === 200) continue;
    assert.equal(st.status, 204, `interrupted session ${i}: ${show(st)}`);
    const m = /^0-(\d+)$/.exec(st.headers.get('range') ?? '');
    assert.ok(m, show(st));
    const have = Number(m[1]) === 0 ? 0 : Number(m[1]) + 1;
    assert.ok(have <= blobSize, show(st));
    let loc = requireLocation(st);
    if (have < blobSize) {
      const p = await c2.patchChunk(loc, blobs[i]!.data.subarray(have), have);
      assert.equal(p.status, 202, `resuming session ${i} at ${have}: ${show(p)}`);
      loc = requireLocation(p);
    }
    const f = await c2.finishUpload(loc, blobs[i]!.digest);
    assert.equal(f.status, 201, `resumed session ${i} (server had ${have} bytes) did not verify: ${show(f)}`);
  }

  phase('checked');
  t.diagnostic(`interrupted sessions after restart: ${resumed} resumed, ${dropped} gone`);

  // every upload restarted from scratch succeeds and verifies
  const redo = await Promise.all(blobs.map((b) => c2.pushBlobChunked(name, b, chunkSize)));
  redo.forEach((r, i) => assert.equal(r.status, 201, `re-upload ${i}: ${show(r)}`));
  for (const b of blobs) {
    const r = await c2.getBlob(name, b.digest);
    assert.equal(r.status, 200, show(r));
    assert.equal(makeBlob(r.body).digest, b.digest);
  }
  phase('re-uploaded');
  assert.ok((await assertBlobFilesIntact(rootDirectory)) >= uploads);
  phase('done');
  await reg2.stop();
});

test('a graceful restart keeps everything: blobs, manifests, tags, referrers, catalog, an open upload', { timeout: 60_000 }, async (t) => {
  const { hooks, cleanup } = sharedHooks();
  t.after(cleanup);
  const dir = await tempDir(hooks, 'tsdocker-restart-');
  const rootDirectory = join(dir, 'data');
  const reg = await startRegistry(hooks, { rootDirectory });
  const c = new OciClient(reg.url);
  const name = `${uniqueName('restart')}/app`;
  const img = await c.pushManifest(name, 'v1', await c.makeImage(name));
  await c.pushManifest(name, 'latest', img);
  const sig = await c.pushManifest(name, 'sig', await c.makeArtifact(name, { artifactType: 'application/vnd.example.sig', subject: { mediaType: img.mediaType, digest: img.digest, size: img.size } }));
  const partial = makeBlob(randomBytes(300_000));
  const s = await c.startUpload(name);
  const p = await c.patchChunk(requireLocation(s), partial.data.subarray(0, 100_000), 0);
  assert.equal(p.status, 202, show(p));
  const openLocation = c.url(requireLocation(p));
  // warm caches, then restart
  await c.getManifest(name, 'v1');
  await c.listTags(name);
  await reg.stop();
  const reg2 = await startRegistry(hooks, { rootDirectory, port: reg.port });
  const c2 = new OciClient(reg2.url);
  for (const ref of ['v1', 'latest', img.digest]) {
    const g = await c2.getManifest(name, ref);
    assert.equal(g.status, 200, show(g));
    assert.ok(g.body.equals(img.bytes));
    assert.equal(g.headers.get('content-type'), img.mediaType);
  }
  for (const b of img.blobs) {
    const g = await c2.getBlob(name, b.digest);
    assert.equal(g.status, 200, show(g));
    assert.ok(g.body.equals(b.data));
  }
  assert.deepEqual((await c2.listTags(name)).json().tags, ['latest', 'sig', 'v1']);
  assert.deepEqual((await c2.catalog()).json().repositories, [name]);
  const refs = await c2.referrers(name, img.digest);
  assert.equal(refs.status, 200, show(refs));
  assert.deepEqual(
    refs.json<{ manifests: Array<{ digest: string }> }>().manifests.map((d) => d.digest),
    [sig.digest],
  );
  // the open upload continues where it was
  const st = await c2.uploadStatus(openLocation);
  assert.equal(st.status, 204, `open upload lost across a graceful restart: ${show(st)}`);
  assert.equal(st.headers.get('range'), '0-99999', show(st));
  const p2 = await c2.patchChunk(requireLocation(st), partial.data.subarray(100_000), 100_000);
  assert.equal(p2.status, 202, show(p2));
  const f = await c2.finishUpload(requireLocation(p2), partial.digest);
  assert.equal(f.status, 201, show(f));
  assert.ok((await c2.getBlob(name, partial.digest)).body.equals(partial.data));
  await reg2.stop();
});

test('the Content-Type a manifest is served with survives a restart', { timeout: 60_000 }, async (t) => {
  const { hooks, cleanup } = sharedHooks();
  t.after(cleanup);
  const dir = await tempDir(hooks, 'tsdocker-restart-mt-');
  const rootDirectory = join(dir, 'data');
  const reg = await startRegistry(hooks, { rootDirectory });
  const c = new OciClient(reg.url);
  const name = uniqueName('mediatype');
  const child = await c.pushManifest(name, 'child', await c.makeImage(name, { format: 'docker' }));
  const ociChild = await c.pushManifest(name, 'ochild', await c.makeImage(name));
  // Manifests whose body has no mediaType field: the Content-Type of the PUT is all that says what they are.
  const withoutMediaType = (m: Manifest, contentType: string): Manifest => {
    const o = { ...m.object };
    delete o.mediaType;
    return manifestFrom(o, contentType);
  };
  const cases: Array<[string, Manifest]> = [
    ['docker manifest', withoutMediaType(await c.makeImage(name, { format: 'docker' }), MediaTypes.dockerManifest)],
    ['docker manifest list', withoutMediaType(makeIndex([child], 'docker'), MediaTypes.dockerManifestList)],
    ['oci index', withoutMediaType(makeIndex([ociChild], 'oci'), MediaTypes.ociIndex)],
    ['oci manifest', withoutMediaType(await c.makeImage(name), MediaTypes.ociManifest)],
  ];
  const accepted: Array<[string, Manifest]> = [];
  for (const [what, m] of cases) {
    const r = await c.putManifest(name, m.digest, m);
    if (r.status === 201) {
      accepted.push([what, m]);
      const h = await c.headManifest(name, m.digest);
      assert.equal(h.headers.get('content-type'), m.mediaType, `${what}: ${show(h)}`);
    } else assertError(r, 400, 'MANIFEST_INVALID', what);
  }
  await reg.stop();
  const reg2 = await startRegistry(hooks, { rootDirectory, port: reg.port });
  const c2 = new OciClient(reg2.url);
  const failures = new Failures();
  for (const [what, m] of accepted) {
    await failures.check(what, async () => {
      const g = await c2.getManifest(name, m.digest);
      assert.equal(g.status, 200, show(g));
      assert.equal(g.headers.get('content-type'), m.mediaType, `pushed as ${m.mediaType}, served after a restart as ${g.headers.get('content-type')}`);
      assert.ok(g.body.equals(m.bytes));
    });
  }
  failures.done();
  await reg2.stop();
});
