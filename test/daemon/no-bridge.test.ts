// tsdockerd with --bridge none, as dockerd --bridge=none: containers on the default network are
// created and run with only loopback, never refused as "network bridge not found" (a 404 that the
// docker CLI takes for a missing image and answers with a pull).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeBusyboxArchive } from '../helpers/busybox-image.js';
import { need, tempDir } from '../helpers/env.js';
import { startTsdockerd } from '../helpers/tsdockerd.js';

test('--bridge none: the default network gives a namespace with only lo; no bridge network is listed', { timeout: 120_000 }, async (t) => {
  if (!need(t, { programs: ['docker'], root: true })) return;
  const d = await startTsdockerd(t, { extraArgs: ['--bridge', 'none'] });
  t.after(() => d.docker(['rm', '-f', 'plain'], { allowFailure: true }));
  const work = await tempDir(t, 'tsdd-nobr-');
  // A name under a loopback registry: a pull, if one were tried, could never leave the machine.
  const image = '127.0.0.1:9/tsdtest/busybox:latest';
  await writeBusyboxArchive(join(work, 'busybox.tar'), [image]);
  await d.docker(['load', '-i', join(work, 'busybox.tar')]);
  const created = await d.docker(['create', '--name', 'plain', image, 'ip', '-o', 'link'], { allowFailure: true });
  assert.equal(created.code, 0, created.stderr);
  assert.doesNotMatch(created.stderr, /Unable to find image/);
  assert.equal((await d.docker(['inspect', '-f', '{{.HostConfig.NetworkMode}}', 'plain'])).stdout, 'default\n', 'as dockerd --bridge=none shows it');
  const started = await d.docker(['start', '-a', 'plain'], { allowFailure: true });
  assert.equal(started.code, 0, started.stderr);
  assert.deepEqual(started.stdout.trim().split('\n').map((l) => l.split(':')[1]?.trim()), ['lo']);
  const run = await d.docker(['run', '--rm', image, 'cat', '/proc/net/dev'], { allowFailure: true });
  assert.equal(run.code, 0, run.stderr);
  assert.doesNotMatch(run.stdout, /eth0/);
  assert.equal((await d.docker(['network', 'ls', '--format', '{{.Name}}'])).stdout, 'host\nnone\n');
});
