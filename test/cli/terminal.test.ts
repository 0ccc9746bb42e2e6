// The progress tsdocker draws is the progress docker draws. Streams recorded from a real dockerd
// (a pull, a push, a load with progress, a push that fails mid-stream) are served again, byte for
// byte, to the real docker CLI and to tsdocker, on a terminal (`script` gives each a pty of a set
// width) and on a pipe; both must write the same bytes and exit with the same status.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, request, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { writeHtpasswd } from '../auth/lib.js';
import { startDockerd, type PrivateDockerd } from '../helpers/dockerd.js';
import { need, tempDir } from '../helpers/env.js';
import { buildImage } from '../helpers/images.js';
import { startRegistry } from '../helpers/registry.js';
import { canRunDockerd, fileScope, TEST_TIMEOUT } from '../interop/harness.js';
import { archive } from './fixtures.js';
import { clis, runWithInput, show, tsdockerBin, type CliResult, type Clis } from './harness.js';

const PROGRAMS = ['dockerd', 'docker', 'script'];
const scope = fileScope();
let dockerd: PrivateDockerd;
let cli: Clis;
let work: string;
const recorded = new Map<string, Buffer>();
let archivePath: string;
let replaySocket: string;
let pullRef: string;
let pushRef: string;
let deniedRef: string;
let lockedHost: string;

/** One raw Engine API exchange with the real dockerd; the response body as sent. */
function raw(method: string, path: string, headers: Record<string, string> = {}, body?: Buffer): Promise<{ status: number; body: Buffer }> {
  const socketPath = dockerd.host.slice('unix://'.length);
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path: `/v1.41${path}`, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Serve the recorded streams as dockerd served them (the routes the two CLIs call). */
async function replayServer(socket: string): Promise<Server> {
  const server = createServer((req, res) => {
    // Like dockerd, read the whole request (an image archive for load) before answering.
    req.resume();
    req.once('end', () => answer(req.url ?? '', res));
  });
  const answer = (url: string, res: ServerResponse) => {
    res.setHeader('Api-Version', '1.41');
    res.setHeader('Ostype', 'linux');
    res.setHeader('Docker-Experimental', 'false');
    if (url.endsWith('/_ping')) return void res.end('OK');
    const key = url.includes('/images/create') ? 'pull' : url.includes('/images/load') ? 'load' : url.includes('/denied/') ? 'denied' : url.includes('/push') ? 'push' : undefined;
    const body = key && recorded.get(key);
    if (!body) {
      res.statusCode = 404;
      res.setHeader('Content-Type', 'application/json');
      return void res.end(JSON.stringify({ message: `no recording for ${url}` }));
    }
    res.setHeader('Content-Type', 'application/json');
    // In small pieces, so that both clients also see messages split across reads.
    let offset = 0;
    const next = () => {
      if (offset >= body.length) return void res.end();
      res.write(body.subarray(offset, offset + 97), next);
      offset += 97;
    };
    next();
  };
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return server;
}

before(async () => {
  if (!canRunDockerd()) return;
  dockerd = await startDockerd(scope);
  cli = await clis(scope, dockerd);
  work = await tempDir(scope, 'tsd-cli-tty-');
  const registry = await startRegistry(scope);
  const htpasswd = join(work, 'htpasswd');
  await writeHtpasswd(htpasswd, { alice: 'x' }, 5);
  const locked = await startRegistry(scope, { config: { auth: { htpasswd: { realm: 'tty', path: htpasswd } } } });

  const image = await buildImage({ layers: 3, fileSize: 400_000 });
  const pullRepo = `${registry.host}/tty/image`;
  const pushRepo = `${registry.host}/tty/pushed`;
  lockedHost = locked.host;
  const deniedRepo = `${locked.host}/denied/image`;
  pullRef = `${pullRepo}:v1`;
  pushRef = `${pushRepo}:v2`;
  deniedRef = `${deniedRepo}:v1`;
  archivePath = await archive(work, 'tty', image, [pullRef]);
  const auth = { 'X-Registry-Auth': 'e30=' };
  const ok = (r: { status: number; body: Buffer }) => {
    assert.ok(r.status < 300, `${r.status} ${r.body.toString()}`);
    return r.body;
  };
  const q = encodeURIComponent;
  // load with progress (quiet=0, what a terminal asks for), push, pull back.
  recorded.set('load', ok(await raw('POST', '/images/load?quiet=0', { 'Content-Type': 'application/x-tar' }, await readFile(archivePath))));
  ok(await raw('POST', `/images/${pullRef}/tag?repo=${q(pushRepo)}&tag=v2`));
  recorded.set('push', ok(await raw('POST', `/images/${pushRepo}/push?tag=v2`, auth)));
  ok(await raw('POST', `/images/${pullRepo}/push?tag=v1`, auth));
  ok(await raw('DELETE', `/images/${pullRef}`));
  ok(await raw('DELETE', `/images/${pushRef}`));
  recorded.set('pull', ok(await raw('POST', `/images/create?fromImage=${q(pullRepo)}&tag=v1`, auth)));
  ok(await raw('POST', `/images/${pullRef}/tag?repo=${q(deniedRepo)}&tag=v1`));
  recorded.set('denied', ok(await raw('POST', `/images/${deniedRepo}/push?tag=v1`, auth)));
  assert.match(recorded.get('denied')!.toString(), /"error":"no basic auth credentials"/);
  assert.match(recorded.get('pull')!.toString(), /"status":"Downloading","progressDetail":\{"current":/);
  assert.match(recorded.get('load')!.toString(), /"status":"Loading layer","progressDetail":\{"current":/);

  replaySocket = join(work, 'replay.sock');
  const server = await replayServer(replaySocket);
  scope.after(() => new Promise((resolve) => server.close(resolve)));
}, { timeout: 180_000 });

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Run a command on a pseudo-terminal `columns` wide; what the terminal received, and the status. */
async function onTerminal(command: string[], columns: number, options: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const line = `stty cols ${columns} rows 50; exec ${command.map(shellQuote).join(' ')}`;
  return runWithInput('script', ['-qfec', line, '/dev/null'], { env: { ...cli.env, DOCKER_CONFIG: cli.dockerConfig, ...options.env }, input: options.input });
}

function commands(args: string[]): { ours: string[]; theirs: string[] } {
  const host = `unix://${replaySocket}`;
  return { ours: [process.execPath, tsdockerBin, '-H', host, ...args], theirs: ['docker', '-H', host, ...args] };
}

const scenarios: Array<{ name: string; args: () => string[]; exit: number }> = [
  { name: 'pull', args: () => ['pull', pullRef], exit: 0 },
  { name: 'pull -q', args: () => ['pull', '-q', pullRef], exit: 0 },
  { name: 'push', args: () => ['push', pushRef], exit: 0 },
  { name: 'push that fails mid-stream', args: () => ['push', deniedRef], exit: 1 },
  { name: 'load', args: () => ['load', '-i', archivePath], exit: 0 },
];

test('on a terminal: the same escape sequences, rows and bars as docker (120 and 80 columns)', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  for (const scenario of scenarios) {
    for (const columns of [120, 80]) {
      const { ours, theirs } = commands(scenario.args());
      const o = await onTerminal(ours, columns);
      const d = await onTerminal(theirs, columns);
      assert.equal(d.code, scenario.exit, `docker ${scenario.name}\n${show(d)}`);
      assert.equal(o.code, scenario.exit, `tsdocker ${scenario.name}\n${show(o)}`);
      assert.equal(JSON.stringify(o.stdout), JSON.stringify(d.stdout), `${scenario.name} at ${columns} columns`);
      if (scenario.name === 'pull' || scenario.name === 'push') assert.match(o.stdout, /\x1b\[\dA\x1b\[2K\r/, 'rows updated in place');
      if (scenario.name === 'pull' && columns === 120) assert.match(o.stdout, /Downloading \[=*>? *\] /, 'a bar on a wide terminal');
      if (scenario.name === 'pull' && columns === 80) assert.doesNotMatch(o.stdout, /\[=/, 'no bar on a narrow one');
    }
  }
});

test('on a pipe: the same lines as docker, progress updates left out', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  for (const scenario of scenarios) {
    const { ours, theirs } = commands(scenario.args());
    const env = { ...cli.env, DOCKER_CONFIG: cli.dockerConfig };
    const o = await runWithInput(ours[0]!, ours.slice(1), { env });
    const d = await runWithInput(theirs[0]!, theirs.slice(1), { env });
    assert.equal(d.code, scenario.exit, show(d));
    assert.equal(o.code, scenario.exit, show(o));
    assert.equal(o.stdout, d.stdout, scenario.name);
    assert.equal(o.stderr, d.stderr, scenario.name);
    assert.doesNotMatch(o.stdout, /\x1b|\r/);
  }
});

test('on a terminal: save refuses to write an archive to it, load refuses to read one from it, as docker does', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  for (const args of [['save', pullRef], ['load'], ['image', 'load', '-q']]) {
    const { ours, theirs } = commands(args);
    const o = await onTerminal(ours, 100);
    const d = await onTerminal(theirs, 100);
    assert.equal(o.code, 1, show(o));
    assert.equal(o.code, d.code);
    assert.equal(o.stdout, d.stdout, args.join(' '));
  }
});

test('on a terminal: login asks for the user name and the password; a prompt does not keep the CLI waiting', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: PROGRAMS, root: true })) return;
  const dir = await tempDir(t);
  const env = { DOCKER_CONFIG: join(dir, 'config') };
  const login = await onTerminal([process.execPath, tsdockerBin, '-H', dockerd.host, 'login', lockedHost], 100, { input: 'alice\nx\r', env });
  assert.equal(login.code, 0, show(login));
  assert.match(login.stdout, /Username: /);
  assert.match(login.stdout, /Password: /);
  assert.match(login.stdout, /Login Succeeded\r\n$/);
  assert.deepEqual(JSON.parse(await readFile(join(dir, 'config', 'config.json'), 'utf8')), { auths: { [lockedHost]: { auth: Buffer.from('alice:x').toString('base64') } } });

  const wrong = await onTerminal([process.execPath, tsdockerBin, '-H', dockerd.host, 'login', '-u', 'alice', lockedHost], 100, { input: 'nope\r', env: { DOCKER_CONFIG: join(dir, 'other') } });
  assert.equal(wrong.code, 1, show(wrong));
  assert.match(wrong.stdout, /Password: [\s\S]*Error response from daemon: login attempt to http:\/\/[^ ]+\/v2\/ failed with status: 401 Unauthorized/);

  // The answer arrives, the command ends; the terminal stays open much longer.
  const started = Date.now();
  const line = `exec ${[process.execPath, tsdockerBin, '-H', dockerd.host, 'image', 'prune'].map(shellQuote).join(' ')}`;
  const held = await new Promise<CliResult>((resolve, reject) => {
    const child = spawn('script', ['-qfec', line, '/dev/null'], { env: cli.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: out, stderr: '', raw: Buffer.from(out) }));
    child.stdin.write('n\n');
    const timer = setTimeout(() => child.stdin.end(), 15_000);
    child.on('close', () => clearTimeout(timer));
  });
  assert.equal(held.code, 0, show(held));
  assert.match(held.stdout, /Are you sure you want to continue\? \[y\/N\] /);
  assert.ok(Date.now() - started < 10_000, `prune returned only when stdin closed (${Date.now() - started} ms)`);
});
