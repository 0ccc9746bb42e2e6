import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { it } from 'node:test';
import { freePort, waitFor } from '../helpers/env.js';
import { OciClient, randomBlob, uniqueName } from '../helpers/oci-client.js';
import { startRegistry } from '../helpers/registry.js';

interface Received {
  contentType: string | undefined;
  auth: string | undefined;
  events: Array<{ action: string; target: { repository: string; digest?: string; tag?: string; mediaType?: string; size?: number; fromRepository?: string }; request: { method: string }; source: { instanceID: string } }>;
}

/** A webhook receiver that can be told to fail its first N requests. */
async function receiver(t: { after(fn: () => unknown): void }, failFirst = 0) {
  const port = await freePort();
  const received: Received[] = [];
  let calls = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      calls++;
      if (calls <= failFirst) {
        res.statusCode = 503;
        res.end();
        return;
      }
      received.push({ contentType: req.headers['content-type'], auth: req.headers.authorization, events: JSON.parse(body).events });
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${port}/events`, received, calls: () => calls };
}

const events = (r: Received[]) => r.flatMap((x) => x.events);

it('notifications: push, pull, mount and delete events reach the endpoint in distribution format, with retries', { timeout: 60_000 }, async (t) => {
  const sink = await receiver(t, 3);
  const reg = await startRegistry(t, {
    config: { notifications: { endpoints: [{ name: 'ci', url: sink.url, headers: { Authorization: ['Bearer hook-secret'] }, timeout: '2s', threshold: 2, backoff: '200ms' }] } },
  });
  const c = new OciClient(reg.url);
  const name = uniqueName('notify');
  const image = await c.makeImage(name, { layers: 1 });
  await c.pushManifest(name, 'v1', image);
  assert.equal((await c.getManifest(name, 'v1')).status, 200);
  assert.equal((await c.getBlob(name, image.blobs[1]!.digest)).status, 200);
  assert.equal((await c.startUpload(`${name}-copy`, { mount: image.blobs[1]!.digest, from: name })).status, 201);
  assert.equal((await c.deleteManifest(name, image.digest)).status, 202);

  // Seven events: config, layer and manifest pushes, two pulls, the mount, the delete (the last one sent).
  await waitFor(async () => events(sink.received).some((e) => e.action === 'delete'), 'every event, the delete last, after the endpoint recovers', 20_000);
  const all = events(sink.received);
  assert.ok(sink.calls() > all.length, 'the first deliveries failed and were retried');
  assert.equal(sink.received[0]!.contentType, 'application/vnd.docker.distribution.events.v1+json');
  assert.equal(sink.received[0]!.auth, 'Bearer hook-secret', 'configured headers are sent');
  const push = all.find((e) => e.action === 'push' && e.target.tag === 'v1');
  assert.ok(push, JSON.stringify(all));
  assert.equal(push.target.digest, image.digest);
  assert.equal(push.target.mediaType, image.mediaType);
  assert.equal(push.target.repository, name);
  assert.equal(push.request.method, 'PUT');
  assert.equal(all.filter((e) => e.action === 'push' && e.target.mediaType === 'application/octet-stream').length, 2, 'config and layer pushes');
  assert.ok(all.some((e) => e.action === 'pull' && e.target.tag === 'v1'));
  assert.ok(all.some((e) => e.action === 'pull' && e.target.digest === image.blobs[1]!.digest));
  assert.ok(all.some((e) => e.action === 'mount' && e.target.fromRepository === name));
  assert.ok(all.some((e) => e.action === 'delete' && e.target.digest === image.digest));
  // In order: the manifest push comes before its pull and its delete.
  const order = all.map((e) => `${e.action}:${e.target.tag ?? e.target.digest}`);
  assert.ok(order.indexOf(`push:v1`) < order.indexOf(`pull:v1`));
});

it('notifications: the queue is bounded, the oldest events are dropped, and ignore rules filter', { timeout: 60_000 }, async (t) => {
  const port = await freePort();
  const reg = await startRegistry(t, {
    config: {
      notifications: {
        endpoints: [{ name: 'down', url: `http://127.0.0.1:${port}/`, timeout: '200ms', threshold: 1, backoff: '100ms', queuesize: 5, ignore: { actions: ['pull'] } }],
      },
    },
  });
  const c = new OciClient(reg.url);
  const name = uniqueName('bounded');
  for (let i = 0; i < 12; i++) await c.pushBlobMonolithic(name, randomBlob(100));
  for (let i = 0; i < 5; i++) await c.getBlob(name, (await c.pushBlob(name, randomBlob(50))) as string);
  const metrics = await (await fetch(`${reg.url}/metrics`)).text();
  const dropped = Number(/registry_notifications_dropped_total (\d+)/.exec(metrics)?.[1] ?? 0);
  const pending = Number(/registry_notifications_pending_total (\d+)/.exec(metrics)?.[1] ?? 0);
  assert.ok(pending <= 5, `pending ${pending} within the bound`);
  assert.equal(dropped + pending, 17, 'every push event is either pending or counted as dropped; pulls were ignored');
});
