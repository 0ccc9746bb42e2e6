// Containers outlive a tsdockerd restart (their shims keep running) and are picked up again:
// docker ps shows a -d container after the restart, exec and stop work on it, its published
// port answers again; a --rm container that exited while the daemon was down is removed, and a
// --restart always one that exited is started again.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { freePort } from '../helpers/env.js';
import { sleep } from '../helpers/oci-client.js';
import { IMAGE, useContainerDaemon } from './containers-fixture.js';

const TIMEOUT = { timeout: 240_000 };
const { ready, hooks: sharedScope } = useContainerDaemon(['busybox'], TIMEOUT.timeout);

async function until(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('a -d container keeps running across a daemon restart and is managed again afterwards', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  const port = await freePort();
  const id = (await c.d.docker(['run', '-d', '--name', 'survivor', '-p', `127.0.0.1:${port}:80`, IMAGE, 'sh', '-c', 'echo alive > /tmp/index.html; httpd -p 80 -h /tmp; trap "echo bye; exit 0" TERM; while true; do sleep 0.1; done'])).stdout.trim();
  await c.d.docker(['run', '-d', '--name', 'shortlived', '--rm', IMAGE, 'sh', '-c', 'sleep 2']);
  await c.d.docker(['run', '-d', '--name', 'phoenix', '--restart', 'always', IMAGE, 'sh', '-c', 'sleep 2']);
  const pidBefore = (await c.d.docker(['inspect', '-f', '{{.State.Pid}}', 'survivor'])).stdout.trim();
  const restartsBefore = Number((await c.d.docker(['inspect', '-f', '{{.RestartCount}}', 'phoenix'])).stdout.trim());

  const d = await c.restart(sharedScope);
  // The daemon was down while the short-lived ones exited.
  await sleep(2500);
  const ps = await d.docker(['ps', '--format', '{{.ID}} {{.Names}} {{.Status}}']);
  assert.match(ps.stdout, new RegExp(`^${id.slice(0, 12)} survivor Up \\d+ seconds$`, 'm'));
  assert.equal((await d.docker(['inspect', '-f', '{{.State.Pid}}', 'survivor'])).stdout.trim(), pidBefore, 'the same process');
  assert.equal((await d.docker(['exec', 'survivor', 'cat', '/tmp/index.html'])).stdout, 'alive\n');
  let body = '';
  await until(async () => {
    body = await fetch(`http://127.0.0.1:${port}/index.html`).then((r) => r.text(), () => '');
    return body === 'alive\n';
  }, 'the published port after the restart');
  // Exits that happened while the daemon was down are handled when it is back.
  await until(async () => (await d.docker(['ps', '-a', '--filter', 'name=shortlived', '-q'])).stdout.trim() === '', 'the --rm container to be removed');
  await until(async () => Number((await d.docker(['inspect', '-f', '{{.RestartCount}}', 'phoenix'])).stdout.trim()) > restartsBefore, 'the restart-always container to restart');
  // Stop still goes through the reattached shim, and the exit is seen.
  await d.docker(['stop', '-t', '5', 'survivor']);
  assert.equal((await d.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', 'survivor'])).stdout.trim(), 'exited 0');
  assert.match((await d.docker(['logs', 'survivor'])).stdout, /bye/);
  await d.docker(['rm', '-f', 'survivor', 'phoenix']);
});

test('leaves no container, shim, cgroup, mount, link or rule behind', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  await c.cleanup();
  assert.deepEqual(await c.leftovers(), []);
});
