/**
 * The attach socket and exec: stdin/stdout/stderr round trips with and without a TTY (resize
 * included), exec with its exit code, user and environment, and a container that outlives the
 * process that started it and is reattached from its state dir.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { isRuntimeError, reattach } from '../../engine/runtime/index.js';
import { processAlive, readState } from '../../engine/runtime/state.js';
import { need } from '../helpers/env.js';
import { logOutput, readUntil, RuntimeFixture } from './fixture.js';

const isRoot = (): boolean => process.getuid?.() === 0;
const fx = RuntimeFixture.use({ before, after }, isRoot);

test('attach without a TTY: stdin in, stdout and stderr apart, closing stdin ends the program', async (t) => {
  if (!need(t, { root: true })) return;
  const c = await fx.create(t, { interactive: true, cmd: ['sh', '-c', 'while read line; do echo "out:$line"; echo "err:$line" >&2; done; echo bye'] });
  await c.start();
  const a = await c.attach({ stdin: true });
  a.stdin.write('one\n');
  assert.match(await readUntil(a.stdout, 'out:one\n'), /^out:one\n$/);
  assert.match(await readUntil(a.stderr, 'err:one\n'), /^err:one\n$/);
  a.stdin.write('two\n');
  await readUntil(a.stdout, 'out:two\n');
  a.stdin.end();
  const status = await a.exit;
  assert.equal(status?.exitCode, 0);
  const log = await logOutput(c.logPath);
  assert.equal(log.stdout, 'out:one\nout:two\nbye\n', 'attached output is logged too');
  assert.equal(log.stderr, 'err:one\nerr:two\n');
});

test('attach with a TTY: a real terminal, echo, resize, raw bytes; stdin-once closes on detach', async (t) => {
  if (!need(t, { root: true })) return;
  const c = await fx.create(t, { tty: true, interactive: true, consoleSize: { rows: 30, cols: 100 }, cmd: ['sh'] });
  await c.start();
  const a = await c.attach({ stdin: true });
  let seen = '';
  a.stdout.on('data', (d: Buffer) => (seen += d.toString()));
  a.stdin.write('tty; stty size; echo "TERM=$TERM"\n');
  await readUntil(a.stdout, /TERM=xterm/);
  assert.match(seen, /\/dev\/pts\/0/);
  assert.match(seen, /30 100/);
  a.resize({ rows: 40, cols: 120 });
  await new Promise((r) => setTimeout(r, 100));
  a.stdin.write('stty size\n');
  await readUntil(a.stdout, /40 120/);
  a.stdin.write('exit 5\n');
  assert.equal((await a.exit)?.exitCode, 5);
  assert.match((await logOutput(c.logPath)).stdout, /\r\n/, 'a terminal writes CRLF, and the log keeps it');

  // docker run -it: a client that ends its input or goes (a detach) leaves the shell on its
  // terminal running, as dockerd does; the next client finds it there.
  const once = await fx.create(t, { tty: true, interactive: true, cmd: ['sh'] });
  await once.start();
  const b = await once.attach({ stdin: true });
  b.stdin.write('echo ready\n');
  await readUntil(b.stdout, /ready\r\n/);
  b.stdin.end();
  b.detach();
  await new Promise((r) => setTimeout(r, 300));
  assert.equal((await once.inspectState()).status, 'running');
  const back = await once.attach({ stdin: true });
  back.stdin.write('exit 6\n');
  assert.equal((await once.wait()).exitCode, 6);
});

test('exec: exit code, output, environment, user, workdir, stdin, TTY; errors for a missing command and a stopped container', async (t) => {
  if (!need(t, { root: true })) return;
  const c = await fx.create(t, { env: ['FROM_RUN=1'], workdir: '/srv', cmd: ['sleep', '1000'] });
  const { pid: initPid } = await c.start();

  const e1 = await c.exec({ cmd: ['sh', '-c', 'echo "pid=$$ pwd=$(pwd) run=$FROM_RUN extra=$EXTRA"; id -u; ps -o pid,comm | grep -c sleep; exit 7'], env: ['EXTRA=x'] });
  const output = collect(e1.stdout);
  assert.equal(await e1.exit, 7);
  const out = await output;
  const [first, uid, sleeps] = out.trim().split('\n');
  assert.match(first ?? '', /^pid=\d+ pwd=\/srv run=1 extra=x$/);
  assert.notEqual(first, 'pid=1');
  assert.equal(uid, '0');
  assert.equal(sleeps, '1', "exec sees the container's processes (its pid namespace)");
  assert.notEqual(e1.pid, initPid);

  const e2 = await c.exec({ cmd: ['sh', '-c', 'id -u; hostname; cat /etc/secret-of-image; grep CapEff /proc/self/status; cat /proc/1/cmdline | tr "\\0" " "'], user: 'app', workdir: '/tmp' });
  const output2 = collect(e2.stdout);
  assert.equal(await e2.exit, 0);
  const out2 = await output2;
  assert.deepEqual(out2.trim().split('\n'), ['1000', c.id.slice(0, 12), 'image file', 'CapEff:\t0000000000000000', 'sleep 1000']);

  // The exec process shares every namespace of the container's PID 1 (and sees only its lo).
  const e5 = await c.exec({ cmd: ['sh', '-c', 'for n in ipc uts net mnt pid cgroup; do [ "$(readlink /proc/self/ns/$n)" = "$(readlink /proc/1/ns/$n)" ] && echo "same $n"; done; tail -n +3 /proc/self/net/dev | cut -d: -f1 | tr -d " "'] });
  const output5 = collect(e5.stdout);
  assert.equal(await e5.exit, 0);
  assert.equal(await output5, 'same ipc\nsame uts\nsame net\nsame mnt\nsame pid\nsame cgroup\nlo\n');

  const e3 = await c.exec({ cmd: ['sh', '-c', 'read x; echo "got $x" >&2'], stdin: true });
  e3.stdin.end('hello\n');
  assert.equal(await readUntil(e3.stderr, 'got hello\n'), 'got hello\n');
  assert.equal(await e3.exit, 0);

  const e4 = await c.exec({ cmd: ['sh'], tty: true, stdin: true, consoleSize: { rows: 12, cols: 34 } });
  e4.stdin.write('stty size; tty; exit 3\n');
  const text = await readUntil(e4.stdout, /12 34[\s\S]*\/dev\/pts\/\d+/);
  assert.match(text, /12 34/);
  assert.equal(await e4.exit, 3);

  await assert.rejects(c.exec({ cmd: ['no-such-tool'] }), (err: unknown) => isRuntimeError(err, 'exec-failed') && err.exitCode === 127 && /executable file not found/.test(err.message));
  assert.equal((await c.inspectState()).status, 'running', 'a failed exec leaves the container running');
  await c.kill();
  await c.wait();
  await assert.rejects(c.exec({ cmd: ['true'] }), (err: unknown) => isRuntimeError(err, 'not-running'));
  const log = await logOutput(c.logPath);
  assert.equal(log.stdout + log.stderr, '', 'exec output is not in the container log');
});

test('the container survives the process that started it and is reattached from its state dir', async (t) => {
  if (!need(t, { root: true })) return;
  const c = await fx.create(t, { interactive: true, cmd: ['sh', '-c', 'echo started; while read l; do echo "echo:$l"; done; exit 9'] });
  // Another Node process starts it and exits at once (a daemon going away).
  const starter = fileURLToPath(new URL('./start-and-exit.js', import.meta.url));
  const child = spawn(process.execPath, [starter, c.stateDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise((r) => child.once('exit', r));
  assert.equal(code, 0, out);
  const pid = Number(/pid=(\d+)/.exec(out)?.[1]);
  assert.ok(pid > 0, out);

  const again = await reattach(c.stateDir);
  const state = await again.inspectState();
  assert.equal(state.status, 'running');
  assert.equal(state.pid, pid);
  assert.ok(processAlive(state.shimPid!, state.shimStartTime), 'the shim is alive');
  assert.notEqual(state.shimPid, child.pid);
  const a = await again.attach({ stdin: true });
  a.stdin.write('ping\n');
  await readUntil(a.stdout, 'echo:ping\n');
  a.stdin.end();
  assert.equal((await again.wait()).exitCode, 9);
  assert.equal(readState(c.stateDir).status, 'exited');
  assert.equal((await logOutput(again.logPath)).stdout, 'started\necho:ping\n');

  // A container can be started again after it exited; its log continues.
  await again.start();
  const b = await again.attach({ stdin: true });
  b.stdin.end();
  assert.equal((await again.wait()).exitCode, 9);
  assert.equal((await again.inspectState()).starts, 2);
  assert.equal((await logOutput(again.logPath)).stdout, 'started\necho:ping\nstarted\n');
});

test('a shim killed from outside takes its container with it and is reported as exited', async (t) => {
  if (!need(t, { root: true })) return;
  const c = await fx.create(t, { cmd: ['sleep', '1000'] });
  const { pid } = await c.start();
  const state = readState(c.stateDir);
  process.kill(state.shimPid!, 'SIGKILL');
  const deadline = Date.now() + 5000;
  while (processAlive(pid, undefined) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.equal(processAlive(pid, undefined), false, 'the init died with its shim (PR_SET_PDEATHSIG)');
  const after = await c.inspectState();
  assert.equal(after.status, 'exited');
  assert.equal(after.exitCode, 255);
  await assert.rejects(c.remove().then(() => c.inspectState()), /ENOENT/);
});

/** Everything a stream gives until it ends. */
async function collect(stream: NodeJS.ReadableStream): Promise<string> {
  let s = '';
  for await (const chunk of stream) s += chunk.toString();
  return s;
}

test('leaves no cgroups, mounts or shims of its own behind', (t) => {
  if (!need(t, { root: true })) return;
  fx.assertNoLeftovers();
});
