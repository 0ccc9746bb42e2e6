import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { freePort, tempDir, waitFor } from '../helpers/env.js';
import { OciClient, randomBlob, requireLocation, sha256, show, uniqueName } from '../helpers/oci-client.js';
import { registryBin, startRegistry } from '../helpers/registry.js';
import { startS3Server } from '../helpers/s3-server.js';
import { s3Config } from '../s3/config.js';

const run = promisify(execFile);

async function metric(url: string, line: RegExp): Promise<number> {
  const text = await (await fetch(url)).text();
  const m = text.split('\n').find((l) => line.test(l));
  return m ? Number(m.slice(m.lastIndexOf(' ') + 1)) : 0;
}

describe('operations', { timeout: 180_000 }, () => {
  it('/metrics counts requests by route and status, and bytes received', async (t) => {
    const reg = await startRegistry(t);
    const c = new OciClient(reg.url);
    const name = uniqueName('metrics');
    const before = await metric(`${reg.url}/metrics`, /^registry_http_requests_total\{route="upload-start",method="POST",status="201"\}/);
    const blob = randomBlob(50_000);
    assert.equal((await c.pushBlobMonolithic(name, blob)).status, 201);
    assert.equal((await c.getBlob(name, sha256('missing'))).status, 404);
    assert.equal(await metric(`${reg.url}/metrics`, /^registry_http_requests_total\{route="upload-start",method="POST",status="201"\}/), before + 1);
    assert.ok((await metric(`${reg.url}/metrics`, /^registry_http_requests_total\{route="blob",method="GET",status="404"\}/)) >= 1);
    assert.ok((await metric(`${reg.url}/metrics`, /^registry_http_request_bytes_total\{route="upload-start"\}/)) >= 50_000);
    assert.ok((await metric(`${reg.url}/metrics`, /^registry_http_request_duration_seconds_count\{route="upload-start",method="POST"\}/)) >= 1);
  });

  it('with http.debug.addr, metrics and health move to the debug listener', async (t) => {
    const port = await freePort();
    const debugPort = await freePort();
    const root = join(await tempDir(t), 'data');
    const reg = await startRegistry(t, {
      port,
      config: { http: { addr: `127.0.0.1:${port}`, debug: { addr: `127.0.0.1:${debugPort}`, prometheus: { enabled: true, path: '/metrics' } } }, storage: { filesystem: { rootdirectory: root } } },
    });
    assert.equal((await fetch(`${reg.url}/metrics`)).status, 404, 'not on the main listener');
    const text = await (await fetch(`http://127.0.0.1:${debugPort}/metrics`)).text();
    assert.match(text, /registry_http_requests_total/);
    const health = await fetch(`http://127.0.0.1:${debugPort}/debug/health`);
    assert.equal(health.status, 200);
  });

  it('health turns 503 (and /v2/ UNAVAILABLE) when the storage cannot be reached', async (t) => {
    const s3 = await startS3Server(t);
    if (!s3) return;
    const bucket = `health-${randomBytes(3).toString('hex')}`;
    await s3.createBucket(bucket);
    const reg = await startRegistry(t, { config: { ...s3Config(s3, bucket), health: { storagedriver: { enabled: true, interval: '200ms', threshold: 2 } } } });
    assert.equal((await fetch(`${reg.url}/health`)).status, 200);
    await s3.stop();
    await waitFor(async () => (await fetch(`${reg.url}/health`)).status === 503, 'health to fail', 30_000);
    const body = (await (await fetch(`${reg.url}/health`)).json()) as { status: string; checks: { storagedriver: { ok: boolean; error?: string } } };
    assert.equal(body.status, 'unhealthy');
    assert.equal(body.checks.storagedriver.ok, false);
    const base = await fetch(`${reg.url}/v2/`);
    assert.equal(base.status, 503);
    assert.equal(((await base.json()) as { errors: Array<{ code: string }> }).errors[0]!.code, 'UNAVAILABLE');
  });

  it('read-only mode refuses writes with UNSUPPORTED and keeps serving reads', async (t) => {
    const root = join(await tempDir(t), 'data');
    const writable = await startRegistry(t, { rootDirectory: root });
    const w = new OciClient(writable.url);
    const image = await w.makeImage('ro/app');
    await w.pushManifest('ro/app', 'v1', image);
    await writable.stop();
    const ro = await startRegistry(t, { config: { storage: { filesystem: { rootdirectory: root }, maintenance: { readonly: { enabled: true } } } } });
    const c = new OciClient(ro.url);
    assert.equal((await c.getManifest('ro/app', 'v1')).status, 200);
    for (const r of [await c.startUpload('ro/app'), await c.putManifest('ro/app', 'v2', image), await c.deleteManifest('ro/app', 'v1')]) {
      assert.equal(r.status, 405, show(r));
      assert.equal(r.json().errors[0].code, 'UNSUPPORTED');
    }
  });

  it('SIGTERM: an upload cut off by the drain timeout keeps what arrived and can be resumed', async (t) => {
    const port = await freePort();
    const root = join(await tempDir(t), 'data');
    const config = { http: { addr: `127.0.0.1:${port}`, draintimeout: '1s' }, storage: { filesystem: { rootdirectory: root } } };
    const reg = await startRegistry(t, { port, config });
    const c = new OciClient(reg.url);
    const name = uniqueName('drain');
    const blob = randomBlob(3 * 1024 * 1024);
    const location = requireLocation(await c.startUpload(name));
    // A slow PATCH: the first MiB now, the rest never (the drain timeout ends the process).
    const slow = new ReadableStream<Uint8Array>({
      start(ctrl) {
        ctrl.enqueue(blob.data.subarray(0, 1024 * 1024));
      },
    });
    const patch = c.request('PATCH', location, { headers: { 'content-type': 'application/octet-stream' }, body: slow, timeoutMs: 20_000 }).catch((e: Error) => e);
    await waitFor(async () => (await c.uploadStatus(location)).headers.get('range') === `0-${1024 * 1024 - 1}`, 'the first MiB to arrive', 10_000);
    const stopped = Date.now();
    await reg.stop();
    assert.ok(Date.now() - stopped < 5000, 'the process ended after the drain timeout');
    assert.ok((await patch) instanceof Error, 'the cut-off PATCH failed on the client');
    const again = await startRegistry(t, { port, config });
    const c2 = new OciClient(again.url);
    const status = await c2.uploadStatus(location);
    assert.equal(status.status, 204, show(status));
    assert.equal(status.headers.get('range'), `0-${1024 * 1024 - 1}`, 'what arrived before the stop is kept');
    const rest = await c2.patchChunk(location, blob.data.subarray(1024 * 1024), 1024 * 1024);
    assert.equal(rest.status, 202, show(rest));
    assert.equal((await c2.finishUpload(requireLocation(rest), blob.digest)).status, 201);
    assert.equal(sha256((await c2.getBlob(name, blob.digest)).body), blob.digest);
  });

  it('garbage-collect: --dry-run lists what would go, the real run frees it, while the registry serves', async (t) => {
    const reg = await startRegistry(t);
    const c = new OciClient(reg.url);
    const keep = await c.makeImage('gc/app', { layerSize: 4000 });
    await c.pushManifest('gc/app', 'keep', keep);
    const drop = await c.makeImage('gc/app', { layerSize: 4000 });
    await c.pushManifest('gc/app', 'drop', drop);
    assert.equal((await c.deleteManifest('gc/app', drop.digest)).status, 202);
    const dry = await run(process.execPath, [registryBin, 'garbage-collect', '--dry-run', '--grace', '0s', reg.configPath]);
    for (const b of drop.blobs) assert.match(dry.stdout, new RegExp(`blob eligible for deletion: ${b.digest}`));
    assert.doesNotMatch(dry.stdout, new RegExp(keep.blobs[0]!.digest));
    assert.equal((await c.headBlob('gc/app', drop.blobs[1]!.digest)).status, 200, 'dry run deleted nothing');
    const real = await run(process.execPath, [registryBin, 'garbage-collect', '--grace', '0s', reg.configPath]);
    assert.match(real.stdout, /4 of \d+ blobs deleted/);
    const freed = Number(/(\d+) bytes freed/.exec(real.stdout)![1]);
    assert.equal(freed, drop.blobs.reduce((n, b) => n + b.size, drop.size));
    assert.equal((await c.getBlob('gc/app', drop.blobs[1]!.digest)).status, 404);
    for (const b of keep.blobs) assert.equal(sha256((await c.getBlob('gc/app', b.digest)).body), b.digest);
    assert.equal((await c.getManifest('gc/app', 'keep')).status, 200);
  });

  it('a blob collected by a separate garbage-collect process can be pushed again and served', async (t) => {
    const reg = await startRegistry(t);
    const c = new OciClient(reg.url);
    const blob = randomBlob(30_000);
    assert.equal((await c.pushBlobMonolithic('gc/again', blob)).status, 201);
    assert.equal((await c.headBlob('gc/again', blob.digest)).status, 200, 'the server has now seen (and cached) it');
    await run(process.execPath, [registryBin, 'garbage-collect', '--grace', '0s', reg.configPath]);
    assert.equal((await c.headBlob('gc/again', blob.digest)).status, 404);
    assert.equal((await c.pushBlobMonolithic('gc/again', blob)).status, 201);
    const got = await c.getBlob('gc/again', blob.digest);
    assert.equal(got.status, 200, show(got));
    assert.equal(sha256(got.body), blob.digest);
  });

  it('the scheduled collector runs inside the server and reports to /metrics', async (t) => {
    const root = join(await tempDir(t), 'data');
    const reg = await startRegistry(t, { config: { storage: { filesystem: { rootdirectory: root }, delete: { enabled: true } }, gc: { interval: '1s', graceperiod: '0s' } } });
    const c = new OciClient(reg.url);
    const orphan = randomBlob(10_000);
    assert.equal((await c.pushBlobMonolithic('sched/app', orphan)).status, 201);
    await waitFor(async () => (await c.headBlob('sched/app', orphan.digest)).status === 404, 'the orphan to be collected', 20_000);
    // The blob leaves at the trash step; the run's totals are counted when the run ends.
    await waitFor(async () => (await metric(`${reg.url}/metrics`, /^registry_gc_runs_total /)) >= 1, 'the run to finish', 20_000);
    assert.ok((await metric(`${reg.url}/metrics`, /^registry_gc_runs_total /)) >= 1);
    assert.ok((await metric(`${reg.url}/metrics`, /^registry_gc_freed_bytes_total /)) >= 10_000);
  });
});
