// A committed image is valid for docker: pushed with pushImage to our registry, pulled by a real
// dockerd (which checks every layer against its DiffID), run (the new Cmd sees the container's
// file), and a container of it exported by docker holds exactly what our export of the
// committing container holds.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import { commitContainer, exportSnapshot } from '../../engine/images/commit.js';
import { pushImage } from '../../engine/images/push.js';
import { need, tempDir } from '../helpers/env.js';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { sharedHooks } from '../helpers/oci-client.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { buildBusyboxImage, createContainer, dockerOwn, drivers, listTar, loadImage, resolveLinks, runIn, SCRIPT, setup } from './commit-fixture.js';

/** How many gzip members a blob holds (each inflated to its end in turn). */
function gzipMembers(blob: Buffer): number {
  let n = 0;
  for (let rest = blob; rest.length > 0; n++) {
    const { engine } = inflateRawSync(rest.subarray(10), { info: true }) as unknown as { engine: { bytesWritten: number } };
    rest = rest.subarray(10 + engine.bytesWritten + 8); // header (no optional fields), deflate data, CRC32 + ISIZE
  }
  return n;
}

const shared = sharedHooks();
after(() => shared.cleanup());

let peers: Promise<{ dockerd: PrivateDockerd; registry: RunningRegistry }> | undefined;
const getPeers = () => (peers ??= (async () => ({ dockerd: await startDockerd(shared.hooks), registry: await startRegistry(shared.hooks) }))());

for (const driver of drivers) {
  const format = driver === 'overlay' ? 'docker' : 'oci';

  test(`${driver}: docker pulls, runs and exports the committed ${format} image`, async (t: TestContext) => {
    if (!need(t, { root: true, programs: ['dockerd', 'docker', 'chroot'] })) return;
    const { dockerd, registry } = await getPeers();
    const s = await setup(t, driver);
    const parent = await loadImage(t, s.engine, await buildBusyboxImage(format), 'commit-test/busybox:1');
    const c = await createContainer(s, parent);
    await runIn(c.root, SCRIPT);
    // 10 MB more: the layer's tar spans several gzip members (4 MiB of tar each), which docker must read as one stream.
    await runIn(c.root, 'for i in 1 2 3 4 5; do cat /bin/busybox >> /multi.bin; done');
    const ref = `${registry.host}/commit/${driver}:v1`;
    const parentConfig = JSON.parse((await s.engine.content.get(parent.config.digest)).toString('utf8'));
    const record = await commitContainer(s.engine, { snapshotKey: c.key, image: parent, reference: ref, config: { ...parentConfig.config, Cmd: ['/bin/cat', '/data/new.txt'] }, comment: 'committed' });

    const layer = await s.engine.content.get(record.layers.at(-1)!.digest);
    assert.ok(gzipMembers(layer) >= 3, `${gzipMembers(layer)} gzip members`);
    const [pushed] = await pushImage(s.engine, ref);
    assert.equal(pushed!.digest, record.manifest.digest);
    await dockerd.docker(['pull', ref]);
    const inspect = JSON.parse((await dockerd.docker(['image', 'inspect', ref])).stdout)[0];
    assert.equal(inspect.Id, record.id);
    assert.deepEqual(inspect.RootFS.Layers, record.diffIds);
    assert.equal((await dockerd.docker(['run', '--rm', '--network', 'none', ref])).stdout, 'new\n');
    assert.match((await dockerd.docker(['history', '--no-trunc', '--format', '{{.Comment}}', ref])).stdout, /^committed\n/);

    const dir = await tempDir(t, 'tsd-commit-peer-');
    await dockerd.docker(['create', '--name', `from-${driver}`, ref]);
    t.after(() => dockerd.docker(['rm', '-f', `from-${driver}`], { allowFailure: true }));
    await dockerd.docker(['export', '-o', join(dir, 'docker.tar'), `from-${driver}`]);
    const theirs = await listTar(await readFile(join(dir, 'docker.tar')));
    const oursRaw = await listTar(await exportSnapshot(s.engine, c.key));
    const ours = resolveLinks(oursRaw);
    const docker = resolveLinks(theirs);
    for (const [name, item] of ours) assert.deepEqual(docker.get(name), item, `${name}: docker's export of the pulled image vs ours of the container`);
    for (const name of docker.keys()) assert.ok(ours.has(name) || dockerOwn.has(name), `docker has ${name}, the container does not`);
    // Times survive too (whole seconds, as layers carry them), for everything but directories docker's runtime touches.
    for (const [name, item] of oursRaw) if (item.type !== 'directory') assert.equal(theirs.get(name)?.mtime, item.mtime, `${name} mtime`);
  });
}
