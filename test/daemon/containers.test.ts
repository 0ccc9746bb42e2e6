// The real docker CLI runs containers on tsdockerd: run (--rm, -d, -i, -t, exit codes, flags),
// ps, logs, inspect, stop, kill, restart, rm, rename, wait, top, exec, name conflicts, resource
// limits (OOM, pids), restart policies, events, and the rmi conflict with a container's image.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { sleep } from '../helpers/oci-client.js';
import { cgroupParentDirs } from '../runtime/fixture.js';
import { api } from './lib.js';
import { dockerOnTty, dockerWithInput, IMAGE, useContainerDaemon, type ContainerDaemon } from './containers-fixture.js';

const TIMEOUT = { timeout: 180_000 };
const { ready, hooks: sharedScope } = useContainerDaemon(['busybox', 'ps'], TIMEOUT.timeout);

/** Remove the named containers when the test ends, pass or fail. */
function removeAfter(t: TestContext, c: ContainerDaemon, ...names: string[]): void {
  t.after(() => c.d.docker(['rm', '-f', ...names], { allowFailure: true }));
}

test('docker run --rm prints the output, propagates exit codes and removes the container', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  const hi = await c.d.docker(['run', '--rm', IMAGE, 'echo', 'hi']);
  assert.equal(hi.stdout, 'hi\n');
  const three = await c.d.docker(['run', '--rm', '--name', 'exit3', IMAGE, 'sh', '-c', 'echo out; echo err >&2; exit 3'], { allowFailure: true });
  assert.equal(three.code, 3, three.stderr);
  assert.equal(three.stdout, 'out\n');
  assert.match(three.stderr, /^err$/m);
  const missing = await c.d.docker(['run', '--rm', IMAGE, 'no-such-program'], { allowFailure: true });
  assert.equal(missing.code, 127, missing.stderr);
  assert.match(missing.stderr, /executable file not found in \$PATH/);
  // The wait docker run began before the start is not answered with the failure (the CLI would log it).
  assert.doesNotMatch(missing.stderr, /Error waiting for container/);
  // --rm: the daemon removed both (the CLI waited for "removed").
  const all = await c.d.docker(['ps', '-a', '--format', '{{.Names}}']);
  assert.doesNotMatch(all.stdout, /exit3/);
  assert.equal(all.stdout.trim(), '');
  // Without --rm a failed start leaves the container "created", with the exit code and the error.
  const kept = await c.d.docker(['run', '--name', 'failed-start', IMAGE, 'no-such-program'], { allowFailure: true });
  t.after(() => c.d.docker(['rm', '-f', 'failed-start'], { allowFailure: true }));
  assert.equal(kept.code, 127);
  assert.doesNotMatch(kept.stderr, /Error waiting for container/);
  const state = await c.d.docker(['inspect', '-f', '{{.State.Status}} {{.State.ExitCode}} {{.State.Error}}', 'failed-start']);
  assert.match(state.stdout, /^created 127 failed to create task for container: .*executable file not found in \$PATH/);
  assert.equal((await c.d.docker(['wait', 'failed-start'])).stdout, '127\n');
});

test('run flags: -e -u -w -h --entrypoint --read-only --tmpfs, and the image default command', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  const r = await c.d.docker(['run', '--rm', '-e', 'GREETING=hello there', '-u', '65534', '-w', '/tmp', '-h', 'myhost', '--entrypoint', 'sh', IMAGE, '-c', 'echo "$GREETING|$(id -u)|$(pwd)|$(hostname)"']);
  assert.equal(r.stdout, 'hello there|65534|/tmp|myhost\n');
  const ro = await c.d.docker(['run', '--rm', '--read-only', '--tmpfs', '/scratch', IMAGE, 'sh', '-c', 'touch /x 2>/dev/null && echo wrote-root; touch /scratch/y && echo wrote-tmpfs; grep " /scratch " /proc/mounts | cut -d" " -f3'], { allowFailure: true });
  assert.equal(ro.stdout, 'wrote-tmpfs\ntmpfs\n', ro.stderr);
  const piped = await dockerWithInput(c.d, ['run', '--rm', '-i', IMAGE], 'echo from-default-sh; exit 7\n');
  assert.equal(piped.stdout, 'from-default-sh\n');
  assert.equal(piped.code, 7);
});

test('docker run -d, ps, logs (-t, --tail, stderr), inspect, stop -t, ps -a, rm', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  removeAfter(t, c, 'bg');
  const id = (await c.d.docker(['run', '-d', '--name', 'bg', '--label', 'team=a', IMAGE, 'sh', '-c', 'echo line1; echo line2 >&2; trap "exit 0" TERM; while true; do sleep 0.1; done'])).stdout.trim();
  assert.match(id, /^[0-9a-f]{64}$/);
  const ps = await c.d.docker(['ps', '--format', '{{.ID}}|{{.Names}}|{{.Image}}|{{.Status}}|{{.Command}}']);
  const row = ps.stdout.trim().split('\n').find((l) => l.includes('|bg|'));
  assert.ok(row, ps.stdout);
  const [shortId, , image, status, command] = row.split('|');
  assert.equal(shortId, id.slice(0, 12));
  assert.equal(image, IMAGE);
  assert.match(status!, /^Up (Less than a second|\d+ seconds?)$/);
  assert.match(command!, /^"sh -c /);
  await waitForLogs(c, 'bg', 'line2');
  const logs = await c.d.docker(['logs', 'bg']);
  assert.equal(logs.stdout, 'line1\n');
  assert.equal(logs.stderr, 'line2\n');
  const tail = await c.d.docker(['logs', '-t', '--tail', '1', 'bg']);
  assert.match(tail.stdout + tail.stderr, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line2\n$/);
  const inspect = JSON.parse((await c.d.docker(['inspect', 'bg'])).stdout) as Array<Record<string, any>>;
  const info = inspect[0]!;
  assert.equal(info.Id, id);
  assert.equal(info.Name, '/bg');
  assert.equal(info.State.Status, 'running');
  assert.equal(info.State.Running, true);
  assert.ok(info.State.Pid > 0);
  assert.equal(info.Config.Image, IMAGE);
  assert.equal(info.Config.Labels.team, 'a');
  assert.deepEqual(info.Args, ['-c', 'echo line1; echo line2 >&2; trap "exit 0" TERM; while true; do sleep 0.1; done']);
  assert.equal(info.HostConfig.NetworkMode, 'default', "the docker CLI's value, kept as dockerd keeps it");
  assert.match(info.NetworkSettings.IPAddress, new RegExp(`^${c.subnet.split('.').slice(0, 3).join('\\.')}\\.\\d+$`));
  assert.equal(info.NetworkSettings.Networks.bridge.IPAddress, info.NetworkSettings.IPAddress);
  assert.equal(info.RestartCount, 0);
  // The prefix of the ID finds it too; filters by label, status, name and id.
  assert.equal((await c.d.docker(['inspect', '-f', '{{.Name}}', id.slice(0, 8)])).stdout.trim(), '/bg');
  assert.equal((await c.d.docker(['ps', '-q', '--filter', 'label=team=a'])).stdout.trim(), id.slice(0, 12));
  assert.equal((await c.d.docker(['ps', '-q', '--filter', 'label=team=b'])).stdout.trim(), '');
  assert.equal((await c.d.docker(['ps', '-q', '--filter', 'name=^/bg$', '--filter', 'status=running'])).stdout.trim(), id.slice(0, 12));
  assert.equal((await c.d.docker(['ps', '-q', '--filter', `ancestor=${IMAGE}`, '--filter', `id=${id.slice(0, 6)}`])).stdout.trim(), id.slice(0, 12));
  const started = Date.now();
  await c.d.docker(['stop', '-t', '5', 'bg']);
  assert.ok(Date.now() - started < 4000, 'the TERM trap ends it before the timeout');
  assert.equal((await c.d.docker(['ps', '-q'])).stdout.trim(), '');
  const exited = await c.d.docker(['ps', '-a', '--filter', 'status=exited', '--format', '{{.Names}} {{.Status}}']);
  assert.match(exited.stdout, /^bg Exited \(0\) (Less than a second|\d+ seconds?) ago$/m);
  const stopped = JSON.parse((await c.d.docker(['inspect', 'bg'])).stdout)[0] as Record<string, any>;
  assert.equal(stopped.State.Status, 'exited');
  assert.equal(stopped.State.Running, false);
  assert.equal(stopped.State.Pid, 0);
  assert.notEqual(stopped.State.FinishedAt, '0001-01-01T00:00:00Z');
  await c.d.docker(['rm', 'bg']);
  const gone = await c.d.docker(['inspect', 'bg'], { allowFailure: true });
  assert.notEqual(gone.code, 0);
  assert.match(gone.stderr, /No such (container|object): bg/);
});

async function waitForLogs(c: ContainerDaemon, name: string, text: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = await c.d.docker(['logs', name], { allowFailure: true });
    if ((r.stdout + r.stderr).includes(text)) return;
    await sleep(100);
  }
  assert.fail(`${name} never logged ${text}`);
}

test('stop sends SIGKILL after the timeout; kill -s; restart; wait; rm of a running container needs -f', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  removeAfter(t, c, 'stubborn', 'sig');
  // PID 1 with no TERM handler ignores SIGTERM: stop must kill it.
  await c.d.docker(['run', '-d', '--name', 'stubborn', IMAGE, 'sleep', '1000']);
  const began = Date.now();
  await c.d.docker(['stop', '-t', '1', 'stubborn']);
  const took = Date.now() - began;
  assert.ok(took >= 900 && took < 8000, `stop took ${took} ms`);
  assert.equal((await c.d.docker(['inspect', '-f', '{{.State.ExitCode}}', 'stubborn'])).stdout.trim(), '137');
  await c.d.docker(['run', '-d', '--name', 'sig', IMAGE, 'sh', '-c', 'trap "echo got-usr1; exit 42" USR1; while true; do sleep 0.1; done']);
  const rmRunning = await c.d.docker(['rm', 'sig'], { allowFailure: true });
  assert.notEqual(rmRunning.code, 0);
  assert.match(rmRunning.stderr, /You cannot remove a running container [0-9a-f]{64}\. Stop the container before attempting removal or force remove/);
  const waiting = c.d.docker(['wait', 'sig']);
  await sleep(300);
  await c.d.docker(['kill', '-s', 'USR1', 'sig']);
  assert.equal((await waiting).stdout.trim(), '42');
  await waitForLogs(c, 'sig', 'got-usr1');
  const killStopped = await c.d.docker(['kill', 'sig'], { allowFailure: true });
  assert.match(killStopped.stderr, /is not running/);
  await c.d.docker(['restart', 'sig']);
  assert.equal((await c.d.docker(['inspect', '-f', '{{.State.Running}}', 'sig'])).stdout.trim(), 'true');
  const top = await c.d.docker(['top', 'sig']);
  assert.match(top.stdout, /^UID\s+PID\s+PPID/m);
  assert.match(top.stdout, /sh -c trap/);
  await c.d.docker(['rm', '-f', 'sig']);
  assert.equal((await c.d.docker(['ps', '-aq', '--filter', 'name=sig'])).stdout.trim(), '');
});

test('docker run -i passes stdin and its end; docker run -it gets a terminal', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  const big = 'x'.repeat(200_000);
  const r = await dockerWithInput(c.d, ['run', '--rm', '-i', IMAGE, 'sh', '-c', 'wc -c; echo done'], big);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim().split('\n').map((l) => l.trim()).join(' '), '200000 done');
  const tty = await dockerOnTty(c.d, `docker run --rm -it ${IMAGE} sh -c 'tty; echo "term=$TERM"; exit 5'`);
  assert.equal(tty.code, 5, tty.output);
  assert.match(tty.output, /\/dev\/pts\/0/);
  assert.match(tty.output, /term=xterm/);
});

test('the attach API: 101 upgrade, multiplexed frames without a TTY, raw bytes with one, resize', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  removeAfter(t, c, 'rawtty');
  const create = await api(c.d.socket, 'POST', '/v1.41/containers/create?name=rawtty', {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ Image: IMAGE, Cmd: ['sh', '-c', 'read line; echo "got:$line"; stty size'], Tty: true, OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true }),
  });
  assert.equal(create.status, 201, create.text);
  const { connect } = await import('node:net');
  const socket = connect(c.d.socket);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write('POST /v1.41/containers/rawtty/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n');
  let received = Buffer.alloc(0);
  socket.on('data', (d: Buffer) => (received = Buffer.concat([received, d])));
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  for (let i = 0; i < 100 && !received.includes('\r\n\r\n'); i++) await sleep(20);
  const head = received.toString('latin1');
  assert.match(head, /^HTTP\/1\.1 101 UPGRADED\r\n/);
  assert.match(head, /Content-Type: application\/vnd\.docker\.raw-stream/);
  const start = await api(c.d.socket, 'POST', '/v1.41/containers/rawtty/start');
  assert.equal(start.status, 204, start.text);
  const resize = await api(c.d.socket, 'POST', '/v1.41/containers/rawtty/resize?h=33&w=99');
  assert.equal(resize.status, 200, resize.text);
  await sleep(200);
  socket.write('hello\r');
  await closed;
  const body = received.toString('utf8').split('\r\n\r\n').slice(1).join('\r\n\r\n');
  assert.match(body, /got:hello/);
  assert.match(body, /33 99/);
  assert.ok(!body.includes('\u0001\u0000\u0000\u0000'), 'no frame headers on a TTY stream');
  const exitCode = await api(c.d.socket, 'POST', '/v1.41/containers/rawtty/wait');
  assert.deepEqual(exitCode.json(), { StatusCode: 0, Error: null });
});

test('detach keys on a TTY: the connection closes, the container runs on (the end of input does not stop it either); a bad spec is 400', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  removeAfter(t, c, 'detachme');
  const created = await api(c.d.socket, 'POST', '/v1.41/containers/create?name=detachme', {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ Image: IMAGE, Cmd: ['sh'], Tty: true, OpenStdin: true, StdinOnce: true, AttachStdin: true, AttachStdout: true }),
  });
  assert.equal(created.status, 201, created.text);
  assert.equal((await api(c.d.socket, 'POST', '/v1.41/containers/detachme/start')).status, 204);
  const since = Math.floor(Date.now() / 1000) - 1;
  const { connect } = await import('node:net');
  const attach = async (query: string) => {
    const socket = connect(c.d.socket);
    await new Promise<void>((r) => socket.once('connect', () => r()));
    socket.write(`POST /v1.41/containers/detachme/attach?stream=1&stdin=1&stdout=1${query} HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n`);
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    for (let i = 0; i < 100 && !received.includes('\r\n\r\n'); i++) await sleep(20);
    return { socket, closed, text: () => received };
  };
  const bad = await attach('&detachKeys=ctrl-%3F%3F');
  await bad.closed;
  assert.match(bad.text(), /^HTTP\/1\.1 400 /);
  assert.match(bad.text(), /Invalid detach keys \(ctrl-\?\?\) provided/);

  // The API's own keys: ctrl-x then x. A ctrl-x not followed by x goes through.
  const custom = await attach('&detachKeys=ctrl-x,x');
  custom.socket.write('echo one\r');
  for (let i = 0; i < 100 && !custom.text().includes('one\r\n'); i++) await sleep(20);
  custom.socket.write('\x18x');
  await custom.closed;
  assert.equal((await c.d.docker(['inspect', '-f', '{{.State.Running}}', 'detachme'])).stdout, 'true\n');
  // The default, ctrl-p ctrl-q, is what the docker CLI types; a client that only ends its input
  // (half-close) leaves the terminal's shell running too.
  const byDefault = await attach('');
  byDefault.socket.write('\x10\x11');
  await byDefault.closed;
  const ended = await attach('');
  ended.socket.end();
  await ended.closed;
  await sleep(300);
  assert.equal((await c.d.docker(['inspect', '-f', '{{.State.Running}}', 'detachme'])).stdout, 'true\n');
  const events = await c.d.docker(['events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'container=detachme', '--filter', 'event=detach', '--format', '{{.Action}}']);
  assert.equal(events.stdout, 'detach\ndetach\n');
  const last = await attach('');
  last.socket.write('exit 3\r');
  await last.closed;
  assert.deepEqual((await api(c.d.socket, 'POST', '/v1.41/containers/detachme/wait')).json(), { StatusCode: 3, Error: null });
});

test('docker exec: output, exit code, -i, -t, -u, -w, -e, and exec inspect', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  removeAfter(t, c, 'ex');
  await c.d.docker(['run', '-d', '--name', 'ex', IMAGE, 'sleep', '1000']);
  const out = await c.d.docker(['exec', '-e', 'X=1', '-w', '/tmp', '-u', '65534', 'ex', 'sh', '-c', 'echo "$X $(pwd) $(id -u)"; exit 9'], { allowFailure: true });
  assert.equal(out.code, 9);
  assert.equal(out.stdout, '1 /tmp 65534\n');
  const piped = await dockerWithInput(c.d, ['exec', '-i', 'ex', 'tr', 'a-z', 'A-Z'], 'shout\n');
  assert.equal(piped.stdout, 'SHOUT\n');
  const tty = await dockerOnTty(c.d, 'docker exec -it ex sh -c "tty; exit 3"');
  assert.equal(tty.code, 3, tty.output);
  assert.match(tty.output, /\/dev\/pts\/\d+/);
  const missing = await c.d.docker(['exec', 'ex', 'nope'], { allowFailure: true });
  assert.ok(missing.code === 126 || missing.code === 127, `exit ${missing.code}`);
  assert.match(missing.stdout + missing.stderr, /executable file not found/);
  const badKeys = await c.d.docker(['exec', '--detach-keys', 'ctrl-??', 'ex', 'true'], { allowFailure: true });
  assert.notEqual(badKeys.code, 0);
  assert.match(badKeys.stderr, /Invalid escape keys \(ctrl-\?\?\) provided/);
  // The exec instance as the API shows it.
  const created = await api(c.d.socket, 'POST', '/v1.41/containers/ex/exec', { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ Cmd: ['sh', '-c', 'exit 4'], AttachStdout: true }) });
  assert.equal(created.status, 201, created.text);
  const execId = created.json<{ Id: string }>().Id;
  const started = await api(c.d.socket, 'POST', `/v1.41/exec/${execId}/start`, { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ Detach: true }) });
  assert.equal(started.status, 200, started.text);
  let inspect: Record<string, unknown> = {};
  for (let i = 0; i < 100; i++) {
    inspect = (await api(c.d.socket, 'GET', `/v1.41/exec/${execId}/json`)).json<Record<string, unknown>>();
    if (inspect.Running === false && inspect.ExitCode !== null) break;
    await sleep(50);
  }
  assert.equal(inspect.ExitCode, 4);
  assert.equal(inspect.Running, false);
  assert.equal(inspect.ID, execId);
  await c.d.docker(['stop', '-t', '0', 'ex']);
  const notRunning = await c.d.docker(['exec', 'ex', 'true'], { allowFailure: true });
  assert.match(notRunning.stderr, /is not running/);
});

test('names: unique (dockerd 409), rename, and "No such container"', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  removeAfter(t, c, 'taken', 'renamed');
  const id = (await c.d.docker(['create', '--name', 'taken', IMAGE, 'true'])).stdout.trim();
  const again = await c.d.docker(['create', '--name', 'taken', IMAGE, 'true'], { allowFailure: true });
  assert.notEqual(again.code, 0);
  assert.match(again.stderr, new RegExp(`Conflict\\. The container name "/taken" is already in use by container "${id}"\\. You have to remove \\(or rename\\) that container to be able to reuse that name\\.`));
  const bad = await c.d.docker(['create', '--name', 'bad name!', IMAGE, 'true'], { allowFailure: true });
  assert.match(bad.stderr, /Invalid container name \(bad name!\), only \[a-zA-Z0-9\]\[a-zA-Z0-9_\.-\] are allowed/);
  await c.d.docker(['rename', 'taken', 'renamed']);
  assert.equal((await c.d.docker(['inspect', '-f', '{{.Name}}', id])).stdout.trim(), '/renamed');
  assert.equal((await c.d.docker(['ps', '-a', '--filter', 'name=renamed', '--format', '{{.Status}}'])).stdout.trim(), 'Created');
  const none = await api(c.d.socket, 'GET', '/v1.41/containers/nosuchthing/json');
  assert.equal(none.status, 404);
  assert.deepEqual(none.json(), { message: 'No such container: nosuchthing' });
  const rm = await c.d.docker(['rm', 'nosuchthing'], { allowFailure: true });
  assert.match(rm.stderr, /No such container: nosuchthing/);
});

test('-m: an OOM kill exits 137 and inspect says OOMKilled; --pids-limit caps the tasks', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  removeAfter(t, c, 'oom');
  // dd reads into one 64 MiB buffer: in a 16 MiB container the kernel kills it (and PID 1 with it: it is PID 1).
  const oom = await c.d.docker(['run', '--name', 'oom', '-m', '16m', '--memory-swap', '16m', IMAGE, 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'], { allowFailure: true });
  assert.equal(oom.code, 137, oom.stdout + oom.stderr);
  assert.equal((await c.d.docker(['inspect', '-f', '{{.State.OOMKilled}} {{.State.ExitCode}} {{.HostConfig.Memory}}', 'oom'])).stdout.trim(), 'true 137 16777216');
  // sh is one task: of ten background sleeps at most four fit under a limit of five.
  const pids = await c.d.docker(['run', '--rm', '--pids-limit', '5', IMAGE, 'sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 1 & done; wait'], { allowFailure: true });
  assert.match(pids.stderr, /can't fork: Resource temporarily unavailable/);
  const id = (await c.d.docker(['run', '-d', '--name', 'limited', '--pids-limit', '7', IMAGE, 'sleep', '100'])).stdout.trim();
  t.after(() => c.d.docker(['rm', '-f', 'limited'], { allowFailure: true }));
  const files = cgroupParentDirs(c.cgroupParent).map((d) => join(d, id, 'pids.max')).filter((f) => existsSync(f));
  assert.equal(files.length, 1, 'one pids controller file for the container');
  assert.equal(readFileSync(files[0]!, 'utf8').trim(), '7');
  const cpus = await c.d.docker(['run', '--rm', '--cpus', '0.5', '--cpu-shares', '512', IMAGE, 'true']);
  assert.equal(cpus.code, 0);
});

test('--restart on-failure:2 restarts twice with docker\'s backoff; always restarts until stopped', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  removeAfter(t, c, 'flaky', 'forever');
  await c.d.docker(['run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', IMAGE, 'sh', '-c', 'echo attempt; exit 4']);
  let state = '';
  for (let i = 0; i < 100; i++) {
    state = (await c.d.docker(['inspect', '-f', '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}', 'flaky'])).stdout.trim();
    if (state === '2 exited 4') break;
    await sleep(100);
  }
  assert.equal(state, '2 exited 4');
  await sleep(1000);
  assert.equal((await c.d.docker(['inspect', '-f', '{{.RestartCount}}', 'flaky'])).stdout.trim(), '2', 'no third restart');
  assert.equal((await c.d.docker(['logs', 'flaky'])).stdout, 'attempt\nattempt\nattempt\n');
  await c.d.docker(['run', '-d', '--name', 'forever', '--restart', 'always', IMAGE, 'sh', '-c', 'exit 0']);
  for (let i = 0; i < 100; i++) {
    if (Number((await c.d.docker(['inspect', '-f', '{{.RestartCount}}', 'forever'])).stdout.trim()) >= 2) break;
    await sleep(100);
  }
  assert.ok(Number((await c.d.docker(['inspect', '-f', '{{.RestartCount}}', 'forever'])).stdout.trim()) >= 2);
  await c.d.docker(['stop', '-t', '1', 'forever']);
  const after = (await c.d.docker(['inspect', '-f', '{{.RestartCount}}', 'forever'])).stdout.trim();
  await sleep(1500);
  assert.equal((await c.d.docker(['inspect', '-f', '{{.RestartCount}} {{.State.Status}}', 'forever'])).stdout.trim(), `${after} exited`);
  const conflict = await c.d.docker(['run', '--rm', '--restart', 'always', IMAGE, 'true'], { allowFailure: true });
  assert.notEqual(conflict.code, 0);
});

test('docker events shows create, start, die (with the exit code) and destroy; since/until replay', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  const since = Math.floor(Date.now() / 1000);
  const { spawn } = await import('node:child_process');
  const child = spawn('docker', ['events', '--filter', 'type=container', '--format', '{{.Action}} {{.Actor.Attributes.name}}{{with .Actor.Attributes.exitCode}} {{.}}{{end}}'], { env: c.d.env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  let live = '';
  child.stdout.on('data', (d: Buffer) => (live += d));
  await sleep(500);
  await c.d.docker(['run', '--rm', '--name', 'evt', IMAGE, 'sh', '-c', 'exit 6'], { allowFailure: true });
  for (let i = 0; i < 50 && !live.includes('destroy evt'); i++) await sleep(100);
  const lines = live.trim().split('\n').map((l) => l.trim());
  for (const want of ['create evt', 'start evt', 'die evt 6', 'destroy evt']) assert.ok(lines.includes(want), `${want} missing from:\n${live}`);
  assert.ok(lines.indexOf('start evt') < lines.indexOf('die evt 6'));
  const replay = await c.d.docker(['events', '--since', String(since), '--until', String(Math.floor(Date.now() / 1000) + 1), '--filter', 'container=evt', '--format', '{{.Action}}']);
  assert.deepEqual(replay.stdout.trim().split('\n').filter((a) => ['create', 'start', 'die', 'destroy'].includes(a)), ['create', 'start', 'die', 'destroy']);
});

test('rmi of an image a container uses: dockerd\'s conflict, -f untags only, by ID needs force', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  removeAfter(t, c, 'user');
  await c.d.docker(['tag', IMAGE, 'tsdtest/inuse:v1']);
  t.after(() => c.d.docker(['rmi', 'tsdtest/inuse:v1'], { allowFailure: true }));
  const id = (await c.d.docker(['create', '--name', 'user', 'tsdtest/inuse:v1', 'true'])).stdout.trim();
  const imageId = (await c.d.docker(['inspect', '-f', '{{.Id}}', IMAGE])).stdout.trim();
  // Two tags: removing one name is fine.
  const untag = await c.d.docker(['rmi', 'tsdtest/inuse:v1']);
  assert.match(untag.stdout, /Untagged: tsdtest\/inuse:v1/);
  const only = await c.d.docker(['rmi', IMAGE], { allowFailure: true });
  assert.notEqual(only.code, 0);
  assert.match(only.stderr, new RegExp(`conflict: unable to remove repository reference "${IMAGE}" \\(must force\\) - container ${id.slice(0, 12)} is using its referenced image ${imageId.slice(7, 19)}`));
  const byId = await c.d.docker(['rmi', imageId.slice(7, 19)], { allowFailure: true });
  assert.match(byId.stderr, new RegExp(`conflict: unable to delete ${imageId.slice(7, 19)} \\(must be forced\\) - image is being used by stopped container ${id.slice(0, 12)}`));
  assert.equal((await c.d.docker(['images', '-q', '--no-trunc'])).stdout.includes(imageId), true);
});

test('logs -f follows until the exit; start -a and attach stream and return the exit code; ps -s; container prune', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  removeAfter(t, c, 'ticker', 'later', 'attached', 'sized');
  await c.d.docker(['run', '-d', '--name', 'ticker', IMAGE, 'sh', '-c', 'for i in 0 1 2 3 4; do echo tick $i; sleep 0.2; done']);
  const follow = await c.d.docker(['logs', '-f', 'ticker'], { timeoutMs: 30_000 });
  assert.equal(follow.stdout, 'tick 0\ntick 1\ntick 2\ntick 3\ntick 4\n');
  await c.d.docker(['create', '--name', 'later', IMAGE, 'sh', '-c', 'echo started-attached; exit 2']);
  const startA = await c.d.docker(['start', '-a', 'later'], { allowFailure: true });
  assert.equal(startA.code, 2);
  assert.equal(startA.stdout, 'started-attached\n');
  await c.d.docker(['run', '-d', '--name', 'attached', IMAGE, 'sh', '-c', 'sleep 1; echo late-output; exit 4']);
  const attach = await c.d.docker(['attach', 'attached'], { allowFailure: true, timeoutMs: 30_000 });
  assert.equal(attach.code, 4);
  assert.equal(attach.stdout, 'late-output\n');
  await c.d.docker(['run', '-d', '--name', 'sized', IMAGE, 'sh', '-c', 'head -c 100000 /dev/zero > /big; sleep 100']);
  await waitForSize(c, 'sized');
  await c.d.docker(['rm', '-f', 'sized']);
  const prune = await c.d.docker(['container', 'prune', '-f']);
  for (const name of ['ticker', 'later', 'attached']) assert.equal((await c.d.docker(['ps', '-aq', '--filter', `name=^/${name}$`])).stdout.trim(), '', `${name} pruned`);
  assert.match(prune.stdout, /Deleted Containers:/);
});

async function waitForSize(c: ContainerDaemon, name: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    const size = (await c.d.docker(['ps', '-s', '--filter', `name=^/${name}$`, '--format', '{{.Size}}'])).stdout.trim();
    const m = /^([\d.]+)(B|kB|MB) \(virtual ([\d.]+)(kB|MB)\)$/.exec(size);
    if (m && Number(m[1]) * (m[2] === 'MB' ? 1e6 : m[2] === 'kB' ? 1e3 : 1) >= 100_000) return;
    await sleep(100);
  }
  assert.fail(`ps -s never showed the 100 kB written by ${name}`);
}

test('leaves no container, shim, cgroup, mount, link or rule behind', TIMEOUT, async (t) => {
  const c = ready(t);
  if (!c) return;
  await c.cleanup();
  assert.deepEqual(await c.leftovers(), []);
});
