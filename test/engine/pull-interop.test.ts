/**
 * Pull next to the real dockerd: an image pushed by docker is pulled with identical digests (ID,
 * manifest, DiffIDs); the progress stream has dockerd's shape, line for line where dockerd is
 * deterministic; a registry with token auth is pulled from with credentials, and refused without
 * them in dockerd's exact words.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Digest } from '../../shared/digest.js';
import { isTsdError } from '../../shared/errors.js';
import type { JSONMessage } from '../../engine/images/json-message.js';
import { pullImage } from '../../engine/images/pull.js';
import { chainIds } from '../../engine/images/unpack-image.js';
import { freePort, hasProgram, inCI, tempDir } from '../helpers/env.js';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { buildImage, writeDockerArchive } from '../helpers/images.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { run } from '../helpers/run.js';
import { sharedHooks } from '../helpers/oci-client.js';
import { writeHtpasswd } from './client/servers.js';
import { assertFiles, collector, engineFor, imageOf, push, randomLayer } from './pull-lib.js';

/** POST /images/create on dockerd's socket: its JSON lines, or its error message. */
async function dockerdPull(d: PrivateDockerd, image: string, tag: string, auth?: Record<string, string>): Promise<{ status: number; messages: JSONMessage[]; error?: string }> {
  const socket = d.host.slice('unix://'.length);
  const headers = auth ? ['-H', `X-Registry-Auth: ${Buffer.from(JSON.stringify(auth)).toString('base64')}`] : [];
  const r = await run('curl', ['-sS', '-w', '\n%{http_code}', '--unix-socket', socket, ...headers, '-X', 'POST', `http://x/v1.41/images/create?fromImage=${encodeURIComponent(image)}&tag=${encodeURIComponent(tag)}`]);
  const lines = r.stdout.trim().split('\n');
  const status = Number(lines.pop());
  if (status !== 200) return { status, messages: [], error: (JSON.parse(lines.join('\n')) as { message: string }).message };
  return { status, messages: lines.filter(Boolean).map((l) => JSON.parse(l) as JSONMessage) };
}

const milestones = new Set(['Pulling fs layer', 'Download complete', 'Pull complete', 'Already exists']);

/** Per layer id, the statuses dockerd always sends (it may drop intermediate ones), in order. */
function shape(messages: JSONMessage[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const m of messages) {
    if (!m.id || !m.status || !milestones.has(m.status) || m.progressDetail === undefined) continue;
    out.set(m.id, [...(out.get(m.id) ?? []), m.status]);
  }
  return out;
}

describe('pull next to dockerd', () => {
  const shared = sharedHooks();
  let dockerd: PrivateDockerd | undefined;
  let reg: RunningRegistry;
  before(async () => {
    if (process.getuid?.() !== 0 || !hasProgram('dockerd') || !hasProgram('skopeo')) {
      if (inCI) throw new Error('CI=true and dockerd, skopeo or root is missing (.ci/run must install them)');
      return;
    }
    reg = await startRegistry(shared.hooks);
    dockerd = await startDockerd(shared.hooks);
  });
  after(() => shared.cleanup());

  it('an image pushed by docker is pulled with identical digests and files', async (t) => {
    if (!dockerd) return t.skip('needs root, dockerd and skopeo');
    const fixture = await buildImage({ layers: 3, filesPerLayer: 2, fileSize: 50_000, format: 'docker' });
    const dir = await tempDir(t);
    const archive = join(dir, 'image.tar');
    const name = `${reg.host}/interop/pushed:1`;
    await writeDockerArchive(archive, fixture, [name]);
    await dockerd.docker(['load', '-i', archive]);
    await dockerd.docker(['push', name]);
    const [inspected] = JSON.parse((await dockerd.docker(['image', 'inspect', name])).stdout) as Array<{ Id: string; RepoDigests: string[]; RootFS: { Layers: string[] } }>;
    const pushedDigest = inspected!.RepoDigests[0]!.split('@')[1];

    const engine = await engineFor(t, 'overlay');
    const r = await pullImage(engine, name);
    assert.equal(r.image.id, inspected!.Id, 'the same image ID');
    assert.equal(r.digest, pushedDigest, 'the same manifest digest');
    assert.deepEqual(r.image.repoDigests, [`${reg.host}/interop/pushed@${pushedDigest}`]);
    assert.deepEqual(r.image.diffIds, inspected!.RootFS.Layers, 'the same DiffIDs');
    await assertFiles(t, engine, chainIds(r.image.diffIds).at(-1)!, fixture.layers);
  });

  it('the progress stream has dockerd\'s shape; the last lines and an up-to-date pull are identical', async (t) => {
    if (!dockerd) return t.skip('needs root, dockerd and skopeo');
    const layers = [];
    for (let i = 0; i < 5; i++) layers.push(await randomLayer(2, i === 1 ? 2_000_000 : 20_000));
    const image = imageOf(layers);
    await push(t, reg.host, 'interop/shape:1', image);

    const theirs = await dockerdPull(dockerd, `${reg.host}/interop/shape`, '1');
    const theirsAgain = await dockerdPull(dockerd, `${reg.host}/interop/shape`, '1');
    const engine = await engineFor(t, 'overlay');
    const ours = collector();
    await pullImage(engine, `${reg.host}/interop/shape:1`, { onMessage: ours.sink });
    const oursAgain = collector();
    await pullImage(engine, `${reg.host}/interop/shape:1`, { onMessage: oursAgain.sink });

    assert.deepEqual(ours.messages[0], theirs.messages[0], 'the header');
    assert.deepEqual(ours.messages.slice(-2), theirs.messages.slice(-2), 'Digest and Status lines');
    assert.deepEqual(shape(ours.messages), shape(theirs.messages), 'per layer: Pulling fs layer > Download complete > Pull complete');
    // Every layer is announced before any other layer line, in manifest order, by both.
    const announced = (ms: JSONMessage[]) => ms.slice(1, 1 + layers.length).map((m) => `${m.status} ${m.id}`);
    assert.deepEqual(announced(ours.messages), announced(theirs.messages));
    // Over the download limit (3), two layers wait, in both (which two is up to dockerd's scheduler).
    const waiting = (ms: JSONMessage[]) => ms.filter((m) => m.status === 'Waiting').length;
    assert.equal(waiting(ours.messages), 2);
    assert.equal(waiting(theirs.messages), 2);
    // Every line has dockerd's fields and key order, progress bars included.
    const keys = (ms: JSONMessage[]) => new Set(ms.map((m) => `${m.status?.split(' ')[0]}:${Object.keys(m).join(',')}`));
    assert.deepEqual(keys(ours.messages), keys(theirs.messages));
    assert.deepEqual(oursAgain.messages, theirsAgain.messages, 'the second pull, line for line');
  });

  it('token auth: credentials pull; without them, dockerd\'s "pull access denied"', async (t) => {
    if (!dockerd) return t.skip('needs root, dockerd and skopeo');
    const dir = await tempDir(t);
    await writeHtpasswd(join(dir, 'htpasswd'), { alice: 'alice-secret' });
    const port = await freePort();
    const authed = await startRegistry(t, {
      port,
      config: {
        auth: {
          token: {
            realm: `http://127.0.0.1:${port}/token`,
            service: 'tsdocker-test',
            issuer: 'tsdocker-test',
            htpasswd: join(dir, 'htpasswd'),
            expiration: 300,
            access: [{ repository: 'team/*', users: ['alice'], actions: ['pull', 'push'] }],
          },
        },
      },
    });
    const layers = [await randomLayer()];
    await push(t, authed.host, 'team/secret:1', imageOf(layers), 'alice:alice-secret');
    const engine = await engineFor(t, 'vfs');
    const r = await pullImage(engine, `${authed.host}/team/secret:1`, { credentials: { username: 'alice', password: 'alice-secret' } });
    await assertFiles(t, engine, r.image.diffIds[0] as Digest, layers);

    const theirs = await dockerdPull(dockerd, `${authed.host}/team/secret`, '1');
    assert.equal(theirs.status, 404);
    const fresh = await engineFor(t, 'vfs');
    await assert.rejects(pullImage(fresh, `${authed.host}/team/secret:1`), (err: unknown) => {
      assert.ok(isTsdError(err), String(err));
      assert.equal(err.message, theirs.error, 'dockerd\'s words');
      assert.equal(err.status, 404);
      return true;
    });
    assert.deepEqual(fresh.images.all(), []);
  });
});
