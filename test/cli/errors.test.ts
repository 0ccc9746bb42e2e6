// Usage errors, flag errors, unknown commands and an unreachable daemon: tsdocker says what the
// real docker CLI says (with its own name) and exits with the same status. None needs a daemon.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { freePort, need, tempDir } from '../helpers/env.js';
import { TEST_TIMEOUT } from '../interop/harness.js';
import { asTsdocker, runWithInput, show, tsdockerBin, type CliResult } from './harness.js';

async function both(args: string[], env: NodeJS.ProcessEnv, host?: string): Promise<{ ours: CliResult; theirs: CliResult }> {
  const hostArgs = host ? ['-H', host] : [];
  const ours = await runWithInput(process.execPath, [tsdockerBin, ...hostArgs, ...args], { env });
  const theirs = await runWithInput('docker', [...hostArgs, ...args], { env });
  return { ours, theirs };
}

async function isolatedEnv(t: { after(fn: () => unknown): void }): Promise<NodeJS.ProcessEnv> {
  const dir = await tempDir(t);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: dir, DOCKER_CONFIG: join(dir, 'config') };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  return env;
}

/** docker 28 writes "SRun" for "Run" in its at-most-N message; the rest is the text to match. */
const dockerText = (text: string) => asTsdocker(text).replace('\n\nSRun ', '\n\nRun ');

test('wrong argument counts: docker\'s message and usage line, exit 1', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: ['docker'] })) return;
  const env = await isolatedEnv(t);
  const cases = [
    ['pull'], ['pull', 'a', 'b'], ['push'], ['tag'], ['tag', 'a'], ['tag', 'a', 'b', 'c'], ['rmi'], ['inspect'], ['history'],
    ['save'], ['load', 'x'], ['images', 'a', 'b'], ['login', 'a', 'b'], ['logout', 'a', 'b'], ['version', 'x'], ['info', 'x'],
    ['image', 'ls', 'a', 'b'], ['image', 'list', 'a', 'b'], ['image', 'pull'], ['image', 'push'], ['image', 'tag', 'a'], ['image', 'rm'],
    ['image', 'remove'], ['image', 'inspect'], ['image', 'history'], ['image', 'save'], ['image', 'load', 'x'], ['image', 'prune', 'x'],
  ];
  for (const args of cases) {
    const { ours, theirs } = await both(args, env, 'unix:///nonexistent/tsd.sock');
    assert.equal(theirs.code, 1, show(theirs));
    assert.equal(ours.code, 1, `${args.join(' ')}\n${show(ours)}`);
    assert.equal(ours.stdout, '');
    // `docker image list` names itself `image list`; so do we, through commander's alias.
    assert.equal(ours.stderr, dockerText(theirs.stderr), args.join(' '));
  }
});

test('unknown flags and missing flag values: docker\'s message and usage, exit 125; unknown commands exit 1', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: ['docker'] })) return;
  const env = await isolatedEnv(t);
  const cases = [
    ['tag', '--bogus', 'a', 'b'], ['images', '-z'], ['history', '--nope', 'x'], ['pull', '-x', 'a'], ['image', 'ls', '--colour'],
    ['save', '-o'], ['save', '--output'], ['inspect', 'x', '-f'], ['--bogus', 'images'], ['image', 'prune', '--yes'],
  ];
  for (const args of cases) {
    const { ours, theirs } = await both(args, env, 'unix:///nonexistent/tsd.sock');
    assert.equal(theirs.code, 125, show(theirs));
    assert.equal(ours.code, 125, `${args.join(' ')}\n${show(ours)}`);
    assert.equal(ours.stderr, dockerText(theirs.stderr), args.join(' '));
  }
  for (const args of [['frobnicate'], ['image', 'frobnicate']]) {
    const { ours, theirs } = await both(args, env);
    assert.equal(ours.code, 1, show(ours));
    assert.equal(ours.code, theirs.code);
    assert.equal(ours.stderr, dockerText(theirs.stderr), args.join(' '));
  }
  const help = await runWithInput(process.execPath, [tsdockerBin, 'pull', '--help'], { env });
  assert.equal(help.code, 0, show(help));
  assert.match(help.stdout, /^Usage: tsdocker pull \[OPTIONS\] NAME\[:TAG\|@DIGEST\]\n/);
  assert.match(help.stdout, /-a, --all-tags/);
  const version = await runWithInput(process.execPath, [tsdockerBin, '--version'], { env });
  assert.match(version.stdout, /^tsdocker version \d+\.\d+\.\d+\n$/);
});

test('an unreachable daemon: "Cannot connect to the tsdocker daemon at HOST", exit 1, for unix and tcp, -H and DOCKER_HOST', TEST_TIMEOUT, async (t) => {
  if (!need(t, { programs: ['docker'] })) return;
  const env = await isolatedEnv(t);
  const dir = await tempDir(t);
  const socket = `unix://${join(dir, 'no-daemon.sock')}`;
  const tcp = `tcp://127.0.0.1:${await freePort()}`;
  const daemonWords = (text: string) => text.replace('the Docker daemon', 'the tsdocker daemon').replace('the docker daemon', 'the tsdocker daemon');
  const commands = [['images'], ['pull', 'tsdtest/x'], ['push', 'tsdtest/x'], ['rmi', 'x'], ['history', 'x'], ['tag', 'a', 'b'], ['info'], ['image', 'prune', '-f']];
  for (const host of [socket, tcp]) {
    for (const args of commands) {
      const { ours, theirs } = await both(args, env, host);
      assert.equal(ours.code, 1, `${args.join(' ')}\n${show(ours)}`);
      assert.equal(theirs.code, 1, show(theirs));
      assert.equal(ours.stderr, daemonWords(theirs.stderr), `${host} ${args.join(' ')}`);
      assert.ok(ours.stderr.includes(`Cannot connect to the tsdocker daemon at ${host}. Is the tsdocker daemon running?\n`), ours.stderr);
    }
  }
  const viaEnv = await runWithInput(process.execPath, [tsdockerBin, 'images'], { env: { ...env, DOCKER_HOST: socket } });
  assert.equal(viaEnv.code, 1);
  assert.equal(viaEnv.stderr, `Cannot connect to the tsdocker daemon at ${socket}. Is the tsdocker daemon running?\n`);
  const version = await runWithInput(process.execPath, [tsdockerBin, '-H', socket, 'version'], { env });
  assert.equal(version.code, 1);
  assert.match(version.stdout, /^Client:\n Version: +\d/, 'the client half is printed anyway');
  const badHost = await runWithInput(process.execPath, [tsdockerBin, '-H', 'ftp://x', 'images'], { env });
  assert.equal(badHost.code, 1);
  assert.match(badHost.stderr, /^invalid bind address \(ftp:\/\/x\)/);
});

test('without -H or DOCKER_HOST the CLI talks to tsdockerd\'s socket, /var/run/tsdocker.sock', TEST_TIMEOUT, async (t) => {
  const env = await isolatedEnv(t);
  const { existsSync } = await import('node:fs');
  if (existsSync('/var/run/tsdocker.sock')) {
    t.skip('a tsdockerd is listening on /var/run/tsdocker.sock here');
    return;
  }
  const r = await runWithInput(process.execPath, [tsdockerBin, 'images'], { env });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'Cannot connect to the tsdocker daemon at unix:///var/run/tsdocker.sock. Is the tsdocker daemon running?\n');
});
