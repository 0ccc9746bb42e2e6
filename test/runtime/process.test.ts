/**
 * The container's process: user and groups from the image's /etc/passwd and /etc/group and -u,
 * env, working directory, entrypoint + cmd, exit codes (plain, 128+signal, start failures),
 * stop (the stop signal, then SIGKILL after the timeout), and the json-file log.
 */
import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import { isRuntimeError, readJsonLog, type JsonLogEntry } from '../../engine/runtime/index.js';
import { need } from '../helpers/env.js';
import { logOutput, RuntimeFixture } from './fixture.js';

const isRoot = (): boolean => process.getuid?.() === 0;
const fx = RuntimeFixture.use({ before, after }, isRoot);

test('user: root by default with its groups, an image User, -u name, uid, uid:gid, name:group, --group-add', async (t) => {
  if (!need(t, { root: true })) return;
  const id = async (run: { user?: string; groupAdd?: string[] }, image: { User?: string } = {}): Promise<string> => {
    const r = await fx.run(t, { ...run, cmd: ['sh', '-c', 'echo "$(id -u) $(id -g) $(id -G) $HOME"'] }, image);
    assert.equal(r.exitCode, 0, r.stderr);
    return r.stdout.trim();
  };
  assert.equal(await id({}), '0 0 0 10 /root');
  assert.equal(await id({}, { User: 'app' }), '1000 1000 1000 10 50 /home/app');
  assert.equal(await id({ user: 'app' }), '1000 1000 1000 10 50 /home/app');
  assert.equal(await id({ user: '1000' }), '1000 1000 1000 10 50 /home/app');
  assert.equal(await id({ user: '4242' }), '4242 0 0 /');
  assert.equal(await id({ user: '1000:50' }), '1000 50 50 /home/app');
  assert.equal(await id({ user: 'app:nogroup' }), '1000 65534 65534 /home/app');
  assert.equal(await id({ user: 'nobody', groupAdd: ['staff', '777'] }), '65534 65534 65534 50 777 /nonexistent');
  // A name the image does not know: the start fails with docker's message.
  const c = await fx.create(t, { user: 'ghost', cmd: ['true'] });
  await assert.rejects(c.start(), (err: unknown) => isRuntimeError(err, 'start-failed') && /unable to find user ghost/.test((err as Error).message));
  assert.equal((await c.inspectState()).status, 'exited');
});

test('env (image, run, PATH default, HOSTNAME, HOME), workdir (created when missing), entrypoint + cmd', async (t) => {
  if (!need(t, { root: true })) return;
  const image = { Env: ['FROM_IMAGE=1', 'OVERRIDE=image'], Entrypoint: ['sh', '-c'], Cmd: ['echo image-cmd'], WorkingDir: '/srv/app' };
  const r = await fx.run(t, { env: ['OVERRIDE=run', 'EXTRA=a b'], cmd: ['env | sort; pwd'] }, image);
  assert.equal(r.exitCode, 0, r.stderr);
  const env = r.stdout.trim().split('\n');
  for (const e of ['FROM_IMAGE=1', 'OVERRIDE=run', 'EXTRA=a b', 'HOME=/root', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']) assert.ok(env.includes(e), `${e} missing in ${env.join(',')}`);
  assert.ok(env.some((e) => /^HOSTNAME=[0-9a-f]{12}$/.test(e)));
  assert.equal(env.at(-1), '/srv/app');
  // The image's Cmd runs when none is given; --entrypoint replaces Entrypoint and drops Cmd.
  assert.equal((await fx.run(t, {}, image)).stdout, 'image-cmd\n');
  assert.equal((await fx.run(t, { entrypoint: ['echo'], cmd: ['only', 'args'] }, image)).stdout, 'only args\n');
  assert.equal((await fx.run(t, { workdir: '/tmp', cmd: ['pwd'] }, image)).stdout, '/tmp\n');
});

test("stdin: the container's /dev/null without -i, a pipe with -i; stdout and stderr are pipes to the shim", async (t) => {
  if (!need(t, { root: true })) return;
  const r = await fx.run(t, { cmd: ['sh', '-c', 'readlink /proc/self/fd/0; cat; echo "read:$?"; readlink /proc/self/fd/1 | cut -d: -f1'] });
  assert.equal(r.stdout, '/dev/null\nread:0\npipe\n');
  const devStdout = await fx.run(t, { cmd: ['sh', '-c', 'echo via-dev-stdout > /dev/stdout; echo via-dev-stderr > /dev/stderr'] });
  assert.equal(devStdout.stdout, 'via-dev-stdout\n', 'open("/dev/stdout") works (a pipe, not a socket)');
  assert.equal(devStdout.stderr, 'via-dev-stderr\n');
  const i = await fx.create(t, { interactive: true, cmd: ['sh', '-c', 'readlink /proc/self/fd/0 | cut -d: -f1'] });
  await i.start();
  await i.wait();
  assert.equal((await logOutput(i.logPath)).stdout, 'pipe\n');
});

test('exit codes: exit 3, 128+signal when killed, 127 for a missing command, 126 for a non-executable file', async (t) => {
  if (!need(t, { root: true })) return;
  assert.equal((await fx.run(t, { cmd: ['sh', '-c', 'exit 3'] })).exitCode, 3);
  assert.equal((await fx.run(t, { cmd: ['true'] })).exitCode, 0);
  const killed = await fx.create(t, { cmd: ['sleep', '1000'] });
  await killed.start();
  await killed.kill('SIGKILL');
  assert.equal((await killed.wait()).exitCode, 137);
  // A signal the command handles (PID 1 ignores signals it has no handler for).
  const usr = await fx.create(t, { cmd: ['sh', '-c', 'trap "exit 42" USR1; echo ready; while :; do sleep 0.05; done'] });
  await usr.start();
  await waitForLog(usr.logPath, 'ready');
  await usr.kill('USR1');
  assert.equal((await usr.wait()).exitCode, 42);

  const missing = await fx.create(t, { cmd: ['no-such-command'] });
  await assert.rejects(missing.start(), (err: unknown) => isRuntimeError(err, 'start-failed') && err.exitCode === 127 && /executable file not found in \$PATH/.test(err.message));
  const st = await missing.inspectState();
  assert.equal(st.status, 'exited');
  assert.equal(st.exitCode, 127);
  assert.match(st.error ?? '', /no-such-command/);
  const notExec = await fx.create(t, { cmd: ['/etc/passwd'] });
  await assert.rejects(notExec.start(), (err: unknown) => isRuntimeError(err, 'start-failed') && err.exitCode === 126);
});

test('stop: the stop signal ends a process that handles it; one that ignores it is killed after the timeout', async (t) => {
  if (!need(t, { root: true })) return;
  const polite = await fx.create(t, { cmd: ['sh', '-c', 'trap "echo got-term; exit 0" TERM; echo ready; while :; do sleep 0.05; done'] });
  await polite.start();
  await waitForLog(polite.logPath, 'ready');
  let t0 = Date.now();
  const s1 = await polite.stop(10);
  assert.equal(s1.exitCode, 0);
  assert.ok(Date.now() - t0 < 5000, 'stopped by SIGTERM, not by the timeout');
  assert.match((await logOutput(polite.logPath)).stdout, /got-term/);

  // sleep as PID 1 has no SIGTERM handler, so the kernel drops the signal: SIGKILL after 1 s.
  const stubborn = await fx.create(t, { cmd: ['sleep', '1000'] });
  await stubborn.start();
  t0 = Date.now();
  const s2 = await stubborn.stop(1);
  const took = Date.now() - t0;
  assert.equal(s2.exitCode, 137);
  assert.ok(took >= 900 && took < 8000, `stop took ${took} ms`);

  // The image's StopSignal is used.
  const custom = await fx.create(t, { cmd: ['sh', '-c', 'trap "exit 7" USR2; echo ready; while :; do sleep 0.05; done'] }, { StopSignal: 'SIGUSR2' });
  await custom.start();
  await waitForLog(custom.logPath, 'ready');
  assert.equal((await custom.stop(10)).exitCode, 7);
  // Stopping a stopped container is a no-op; killing one is an error (docker: 409).
  assert.equal((await custom.stop(1)).exitCode, 7);
  await assert.rejects(custom.kill(), (err: unknown) => isRuntimeError(err, 'not-running'));
});

test('json-file log: docker format, both streams, partial last line, rotation by max-size/max-file', async (t) => {
  if (!need(t, { root: true })) return;
  const c = await fx.create(t, { cmd: ['sh', '-c', 'echo out1; echo err1 >&2; echo out2; printf tail'] });
  await c.start();
  await c.wait();
  const entries: JsonLogEntry[] = [];
  for await (const e of readJsonLog(c.logPath)) entries.push(e);
  const raw = (await readFile(c.logPath, 'utf8')).split('\n')[0]!;
  assert.match(raw, /^\{"log":"out1\\n","stream":"stdout","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z"\}$/);
  const byStream = (s: string): string[] => entries.filter((e) => e.stream === s).map((e) => e.log);
  assert.deepEqual(byStream('stdout'), ['out1\n', 'out2\n', 'tail']);
  assert.deepEqual(byStream('stderr'), ['err1\n']);

  const rot = await fx.create(t, { logOpts: { 'max-size': '2k', 'max-file': '3' }, cmd: ['sh', '-c', 'i=0; while [ $i -lt 200 ]; do echo "line $i"; i=$((i+1)); done'] });
  await rot.start();
  await rot.wait();
  const sizes = await Promise.all([rot.logPath, `${rot.logPath}.1`, `${rot.logPath}.2`].map(async (p) => (await stat(p)).size));
  for (const s of sizes) assert.ok(s <= 2048, `a log file of ${s} bytes`);
  await assert.rejects(stat(`${rot.logPath}.3`), /ENOENT/);
  const kept: string[] = [];
  for await (const e of readJsonLog(rot.logPath, 3)) kept.push(e.log);
  assert.equal(kept.at(-1), 'line 199\n', 'the newest line is in the current file');
  for (let i = 1; i < kept.length; i++) assert.equal(Number(kept[i]!.split(' ')[1]), Number(kept[i - 1]!.split(' ')[1]) + 1, 'rotated files read oldest first, in order');
  assert.ok(kept.length < 200, 'the oldest lines were rotated away');
});

async function waitForLog(path: string, text: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await readFile(path, 'utf8')).includes(text)) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${text} in ${path}`);
}

test('leaves no cgroups, mounts or shims of its own behind', (t) => {
  if (!need(t, { root: true })) return;
  fx.assertNoLeftovers();
});
