// tsdockerd as a process: one daemon per data root, SIGTERM (socket and pidfile removed, requests
// in flight finished or aborted after --shutdown-timeout), a stale socket after a crash, a socket
// in use, pidfile checks, a tcp listener next to the unix one, daemon.json, flags and log formats.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, need, tempDir, waitFor } from '../helpers/env.js';
import { buildImage, writeDockerArchive } from '../helpers/images.js';
import { run } from '../helpers/run.js';
import { pingSocket, startTsdockerd, tsdockerdBin } from '../helpers/tsdockerd.js';
import { api, messages } from './lib.js';

const TIMEOUT = { timeout: 120_000 };

/** Run tsdockerd to completion (for the cases where it must refuse to start). */
function tsdockerd(args: string[]) {
  return run(process.execPath, [tsdockerdBin, ...args], { allowFailure: true, timeoutMs: 30_000 });
}

test('a second daemon on the same data root refuses to start, naming the first; the first keeps serving', TIMEOUT, async (t) => {
  if (!need(t, { root: true })) return;
  const first = await startTsdockerd(t);
  const dir = await tempDir(t);
  await writeFile(join(dir, 'daemon.json'), '{}');
  const r = await tsdockerd(['--data-root', first.dataRoot, '-H', `unix://${join(dir, 'other.sock')}`, '--pidfile', join(dir, 'other.pid'), '--exec-root', join(dir, 'exec'), '--config-file', join(dir, 'daemon.json')]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr.trim().split('\n').pop(), `tsdockerd: another tsdockerd (pid ${first.pid}) is already using data root ${first.dataRoot}`);
  assert.ok(!existsSync(join(dir, 'other.sock')), 'the refused daemon made no socket');
  assert.ok(!existsSync(join(dir, 'other.pid')), 'nor a pidfile');
  assert.equal(await pingSocket(first.socket), 200);
});

test('SIGTERM: exit 0, socket and pidfile removed, lock released (a new daemon takes the data root)', TIMEOUT, async (t) => {
  if (!need(t, { programs: ['docker'], root: true })) return;
  const d = await startTsdockerd(t);
  assert.equal(Number((await readFile(d.pidfile, 'utf8')).trim()), d.pid);
  assert.ok(existsSync(d.socket));
  await d.stop();
  assert.deepEqual(await d.exited, { code: 0, signal: null });
  assert.ok(!existsSync(d.socket), 'socket removed');
  assert.ok(!existsSync(d.pidfile), 'pidfile removed');
  assert.match(d.output(), /Daemon shutdown complete/);
  const again = await startTsdockerd(t, { dataRoot: d.dataRoot });
  assert.equal((await again.docker(['info', '--format', '{{.DockerRootDir}}'])).stdout.trim(), d.dataRoot);
});

test('after a crash (SIGKILL) the stale socket is replaced on restart; a socket another process serves is refused', TIMEOUT, async (t) => {
  if (!need(t, { root: true })) return;
  const dir = await tempDir(t);
  const socket = join(dir, 'crash.sock');
  const d = await startTsdockerd(t, { socket });
  await d.kill();
  assert.ok(existsSync(socket), 'SIGKILL leaves the socket file');
  const again = await startTsdockerd(t, { socket, dataRoot: d.dataRoot });
  assert.equal(await pingSocket(socket), 200);

  await writeFile(join(dir, 'daemon.json'), '{}');
  const busy = join(dir, 'busy.sock');
  const other = createServer((c) => c.end());
  await new Promise<void>((resolve) => other.listen(busy, resolve));
  t.after(() => new Promise<void>((resolve) => other.close(() => resolve())));
  const r = await tsdockerd(['--data-root', join(dir, 'data2'), '--exec-root', join(dir, 'exec2'), '-H', `unix://${busy}`, '--pidfile', '', '--config-file', join(dir, 'daemon.json')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`tsdockerd: ${busy} is in use by another daemon`));
  assert.equal(await pingSocket(again.socket), 200);
});

test('a pidfile naming a live process refuses the start; a stale one is replaced', TIMEOUT, async (t) => {
  if (!need(t, { root: true })) return;
  const dir = await tempDir(t);
  await writeFile(join(dir, 'daemon.json'), '{}');
  const pidfile = join(dir, 'live.pid');
  await writeFile(pidfile, String(process.pid));
  const args = ['--data-root', join(dir, 'data'), '--exec-root', join(dir, 'exec'), '-H', `unix://${join(dir, 'p.sock')}`, '--config-file', join(dir, 'daemon.json'), '--pidfile', pidfile];
  const r = await tsdockerd(args);
  assert.equal(r.code, 1);
  assert.match(r.stderr, new RegExp(`pid file found, ensure tsdockerd is not running or delete ${pidfile} \\(process with PID ${process.pid} is still running\\)`));
  assert.ok(!existsSync(join(dir, 'p.sock')));
  // The refused start released what it took: the data root is free for the next daemon.
  await writeFile(pidfile, '999999999');
  const d = await startTsdockerd(t, { dataRoot: join(dir, 'data') });
  assert.equal(await pingSocket(d.socket), 200);
});

test('-H tcp://127.0.0.1:PORT serves the API next to the unix socket', TIMEOUT, async (t) => {
  if (!need(t, { programs: ['docker'], root: true })) return;
  const port = await freePort();
  const d = await startTsdockerd(t, { extraArgs: ['-H', `tcp://127.0.0.1:${port}`] });
  const env = { ...d.env, DOCKER_HOST: `tcp://127.0.0.1:${port}` };
  const v = await run('docker', ['version', '--format', '{{.Server.APIVersion}}'], { env });
  assert.equal(v.stdout.trim(), '1.41');
  assert.equal(await pingSocket(d.socket), 200);
  assert.match(d.output(), new RegExp(`API listen on tcp://127.0.0.1:${port}`));
});

test('daemon.json: hosts, insecure-registries, storage-driver and log-format json are applied', TIMEOUT, async (t) => {
  if (!need(t, { programs: ['docker'], root: true })) return;
  const dir = await tempDir(t);
  const socket = join(dir, 'cfg.sock');
  const d = await startTsdockerd(t, {
    socket,
    daemonJson: { hosts: [`unix://${socket}`], 'insecure-registries': ['registry.test:5000'], 'storage-driver': 'vfs', 'log-format': 'json', 'log-level': 'info' },
  });
  const info = JSON.parse((await d.docker(['info', '--format', '{{json .}}'])).stdout) as { Driver: string; RegistryConfig: { IndexConfigs: Record<string, { Secure: boolean }> } };
  assert.equal(info.Driver, 'vfs');
  assert.equal(info.RegistryConfig.IndexConfigs['registry.test:5000']?.Secure, false);
  const lines = d.output().trim().split('\n');
  const listen = lines.map((l) => JSON.parse(l) as { msg: string; level: number }).find((l) => l.msg === `API listen on ${socket}`);
  assert.ok(listen, d.output());
  assert.equal(listen.level, 30);
  assert.ok(!/password|X-Registry-Auth/i.test(d.output()));
});

test('text logs by default; -v prints the version; a bad flag exits 125; daemon.json conflicts with a flag', TIMEOUT, async (t) => {
  if (!need(t, { root: true })) return;
  const d = await startTsdockerd(t, { logLevel: 'info' });
  assert.match(d.output(), new RegExp(`^time="?[0-9T:.-]+Z"? level=info msg="API listen on ${d.socket}"`, 'm'));
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  const v = await tsdockerd(['-v']);
  assert.equal(v.code, 0);
  assert.equal(v.stdout.trim(), `tsdockerd version ${pkg.version}`);
  const bad = await tsdockerd(['--bogus']);
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /unknown option '--bogus'/);
  const dir = await tempDir(t);
  await writeFile(join(dir, 'daemon.json'), JSON.stringify({ 'data-root': join(dir, 'a') }));
  const both = await tsdockerd(['--config-file', join(dir, 'daemon.json'), '--data-root', join(dir, 'b')]);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /the following directives are specified both as a flag and in the configuration file: data-root/);
  assert.ok(!existsSync(join(dir, 'a')) && !existsSync(join(dir, 'b')), 'nothing created');
});

/** A POST /images/load whose body the test writes piece by piece. */
function slowLoad(socket: string) {
  let status = 0;
  let body = '';
  const req = request({ socketPath: socket, method: 'POST', path: '/v1.41/images/load', headers: { 'Content-Type': 'application/x-tar', 'Transfer-Encoding': 'chunked' } });
  const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      status = res.statusCode ?? 0;
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status, body }));
      res.on('error', reject);
    });
    req.on('error', (err) => resolve({ status: -1, body: err.message }));
  });
  req.flushHeaders();
  return { req, answered };
}

test('SIGTERM during a load: finished when it completes within --shutdown-timeout, else aborted with nothing left behind', TIMEOUT, async (t) => {
  if (!need(t, { programs: ['docker'], root: true })) return;
  const dir = await tempDir(t);
  const image = await buildImage({ layers: 2 });
  await writeDockerArchive(join(dir, 'a.tar'), image, ['tsdtest/shutdown:1']);
  const archive = await readFile(join(dir, 'a.tar'));
  const half = Math.floor(archive.length / 2);

  // 1. The request completes during the grace period: it is answered, then the daemon exits.
  const d = await startTsdockerd(t, { extraArgs: ['--shutdown-timeout', '20'] });
  const one = slowLoad(d.socket);
  one.req.write(archive.subarray(0, half));
  await waitFor(async () => /Calling POST \/v1.41\/images\/load/.test(d.output()), 'the load to start');
  process.kill(d.pid, 'SIGTERM');
  await waitFor(async () => /Processing signal 'SIGTERM'/.test(d.output()), 'the signal to be seen');
  assert.equal(d.process.exitCode, null, 'still running while the load is in flight');
  one.req.end(archive.subarray(half));
  const answer = await one.answered;
  assert.equal(answer.status, 200, answer.body);
  assert.deepEqual(messages(answer.body).map((m) => m.stream), ['Loaded image: tsdtest/shutdown:1\n']);
  assert.deepEqual(await d.exited, { code: 0, signal: null });

  // 2. The request stalls: aborted after the timeout; the daemon exits; no image, no staging.
  const e = await startTsdockerd(t, { extraArgs: ['--shutdown-timeout', '1'] });
  const two = slowLoad(e.socket);
  two.req.write(archive.subarray(0, half));
  await waitFor(async () => /Calling POST \/v1.41\/images\/load/.test(e.output()), 'the load to start');
  const started = Date.now();
  process.kill(e.pid, 'SIGTERM');
  assert.deepEqual(await e.exited, { code: 0, signal: null });
  const took = Date.now() - started;
  assert.ok(took >= 900 && took < 10_000, `exit after ${took} ms`);
  assert.match(e.output(), /aborting requests still in flight/);
  const stalled = await two.answered;
  assert.notEqual(stalled.status, 200);
  two.req.destroy();
  const tmp = join(e.dataRoot, 'tmp');
  assert.deepEqual(existsSync(tmp) ? await readdir(tmp) : [], [], 'no staging left');
  const f = await startTsdockerd(t, { dataRoot: e.dataRoot });
  assert.equal((await f.docker(['images', '-q'])).stdout.trim(), '', 'no half-loaded image');
  const inspect = await api(f.socket, 'GET', `/images/${image.config.digest}/json`);
  assert.equal(inspect.status, 404);
});

test('start-up removes the half-unpacked layers a daemon killed mid-pull left, and keeps committed ones', TIMEOUT, async (t) => {
  if (!need(t, { root: true })) return;
  const dir = await tempDir(t);
  const dataRoot = join(dir, 'data');
  // What a kill -9 during an unpack leaves: an active extract-* snapshot next to a committed layer.
  const { openEngine } = await import('../../engine/images/open-engine.js');
  const engine = await openEngine({ dataRoot, storageDriver: 'vfs', unpackWorkers: 1 });
  const committedKey = `sha256:${'a'.repeat(64)}`;
  await engine.snapshots.prepare('extract-base', undefined);
  await engine.snapshots.commit(committedKey, 'extract-base');
  await engine.snapshots.prepare(`extract-0123456789ab-sha256:${'b'.repeat(64)}`, committedKey);
  await engine.close();
  const d = await startTsdockerd(t, { dataRoot, storageDriver: 'vfs' });
  assert.match(d.output(), /removed 1 unfinished layer extractions/);
  await d.stop();
  const after = await openEngine({ dataRoot, storageDriver: 'vfs', unpackWorkers: 1 });
  t.after(() => after.close());
  const keys: string[] = [];
  for await (const info of after.snapshots.walk()) keys.push(`${info.kind}:${info.key}`);
  assert.deepEqual(keys, [`committed:${committedKey}`]);
});
