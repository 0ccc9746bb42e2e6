// A container's filesystem through the docker CLI on tsdockerd: docker diff (added, changed,
// deleted), docker export (a tar of the whole filesystem), docker commit (with --change) run as
// a new image, then pushed to a local registry, removed, pulled back and run again (and run
// when missing: the CLI pulls it after the create's 404).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, test, type TestContext } from 'node:test';
import * as tar from 'tar-stream';
import { need } from '../helpers/env.js';
import { sharedHooks } from '../helpers/oci-client.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { IMAGE, startContainerDaemon, type ContainerDaemon } from './containers-fixture.js';

const TIMEOUT = { timeout: 180_000 };
const shared = sharedHooks();
let cd: ContainerDaemon | undefined;
let registry: RunningRegistry | undefined;

before(async () => {
  if (process.getuid?.() !== 0) return;
  cd = await startContainerDaemon(shared.hooks);
  registry = await startRegistry(shared.hooks);
}, TIMEOUT);
after(() => shared.cleanup());

function ready(t: TestContext): ContainerDaemon | undefined {
  if (!need(t, { programs: ['docker', 'busybox'], root: true })) return undefined;
  assert.ok(cd, 'the shared tsdockerd did not start');
  return cd;
}

const changes = 'mkdir /work && echo new > /work/file && echo extra >> /etc/passwd && rm /etc/group';

test('docker diff lists what a container added, changed and deleted', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  t.after(() => c.d.docker(['rm', '-f', 'differ'], { allowFailure: true }));
  await c.d.docker(['run', '--name', 'differ', IMAGE, 'sh', '-c', changes]);
  const diff = (await c.d.docker(['diff', 'differ'])).stdout.trim().split('\n');
  for (const row of ['A /work', 'A /work/file', 'C /etc', 'C /etc/passwd', 'D /etc/group']) assert.ok(diff.includes(row), `${row} missing from:\n${diff.join('\n')}`);
  assert.ok(!diff.some((r) => r.startsWith('C /bin') || r.includes('busybox')), diff.join('\n'));
});

test('docker export writes the whole filesystem as a tar', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  t.after(() => c.d.docker(['rm', '-f', 'exporter'], { allowFailure: true }));
  await c.d.docker(['run', '--name', 'exporter', IMAGE, 'sh', '-c', changes]);
  const entries = new Map<string, Buffer>();
  await new Promise<void>((resolve, reject) => {
    const child = spawn('docker', ['export', 'exporter'], { env: c.d.env, stdio: ['ignore', 'pipe', 'inherit'] });
    const extract = tar.extract();
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (d: unknown) => void chunks.push(d as Buffer));
      stream.on('end', () => {
        entries.set(header.name.replace(/^\.?\//, '').replace(/\/$/, ''), Buffer.concat(chunks));
        next();
      });
    });
    extract.on('finish', () => resolve());
    extract.on('error', reject);
    child.stdout.pipe(extract);
    child.on('error', reject);
  });
  assert.ok(entries.has('bin/busybox'), [...entries.keys()].slice(0, 20).join(' '));
  assert.equal(entries.get('work/file')?.toString(), 'new\n');
  assert.match(entries.get('etc/passwd')?.toString() ?? '', /extra\n$/);
  assert.ok(!entries.has('etc/group'), 'a deleted file is not exported');
  assert.ok(![...entries.keys()].some((k) => k.includes('.wh.')), 'no whiteouts in an export');
});

test('docker commit makes an image that runs; push to a registry, rmi, pull and run it again', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  assert.ok(registry);
  const local = 'tsdtest/committed:v1';
  const remote = `${registry.host}/tsdtest/committed:v1`;
  t.after(() => c.d.docker(['rm', '-f', 'committer'], { allowFailure: true }));
  t.after(() => c.d.docker(['rmi', '-f', local, remote], { allowFailure: true }));
  await c.d.docker(['run', '--name', 'committer', IMAGE, 'sh', '-c', changes]);
  const id = (await c.d.docker(['commit', '-c', 'CMD ["cat", "/work/file"]', '-c', 'ENV COMMITTED=yes', '-m', 'a test commit', 'committer', local])).stdout.trim();
  assert.match(id, /^sha256:[0-9a-f]{64}$/);
  assert.equal((await c.d.docker(['run', '--rm', local])).stdout, 'new\n');
  assert.equal((await c.d.docker(['run', '--rm', local, 'sh', '-c', 'echo $COMMITTED; test -e /etc/group || echo group-gone'])).stdout, 'yes\ngroup-gone\n');
  const history = (await c.d.docker(['history', '--format', '{{.Comment}}', local])).stdout;
  assert.match(history, /a test commit/);
  await c.d.docker(['tag', local, remote]);
  await c.d.docker(['push', remote]);
  await c.d.docker(['rm', 'committer']);
  await c.d.docker(['rmi', local, remote]);
  await c.d.docker(['pull', remote]);
  assert.equal((await c.d.docker(['run', '--rm', remote])).stdout, 'new\n');
  // docker run of an image the daemon lacks: the create's 404 makes the CLI pull it first.
  await c.d.docker(['rmi', remote]);
  const pulled = await c.d.docker(['run', '--rm', remote]);
  assert.match(pulled.stderr, new RegExp(`Unable to find image '${remote}' locally`));
  assert.equal(pulled.stdout, 'new\n');
});

test('leaves no container, shim, cgroup, mount, link or rule behind', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  await c.cleanup();
  assert.deepEqual(await c.leftovers(), []);
});
