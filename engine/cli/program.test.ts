import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { CliContext } from './context.js';
import { buildProgram, commandWords } from './program.js';

test('command words: global options and their values are skipped; a command flag ends the search', () => {
  assert.deepEqual(commandWords(['run', '--rm', 'busybox']), ['run']);
  assert.deepEqual(commandWords(['run', 'busybox', 'ls']), ['run', 'busybox']);
  assert.deepEqual(commandWords(['-H', 'unix:///x.sock', '--config', '/c', '-D', 'image', 'ls', '-q']), ['image', 'ls']);
  assert.deepEqual(commandWords(['-l', 'debug', 'ps', '-a']), ['ps']);
  assert.deepEqual(commandWords(['--host=unix:///x', 'container', 'rm', 'x']), ['container', 'rm']);
  assert.deepEqual(commandWords(['--help']), []);
});

test('the program holds only the command it runs; help and unknown commands get the whole tree', async () => {
  const ctx = new CliContext({ stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough() }, {}, 'test');
  const names = (p: { commands: readonly { name(): string; commands: readonly unknown[] }[] }) => p.commands.map((c) => c.name());
  assert.deepEqual(names(await buildProgram(ctx, ['run', '--rm', 'busybox'])), ['run']);
  const containerLs = await buildProgram(ctx, ['-H', 'unix:///x', 'container', 'ps']);
  assert.deepEqual(names(containerLs), ['container']);
  assert.deepEqual(containerLs.commands[0]!.commands.map((c) => (c as { name(): string }).name()), ['ls']);
  const all = await buildProgram(ctx, ['--help']);
  assert.equal(names(all).length, 35);
  assert.deepEqual(names(all).slice(12, 15), ['info', 'image', 'run'], 'the image group after the image commands, as docker lists them');
  assert.equal(names(await buildProgram(ctx, ['bogus'])).length, 35);
  assert.equal(names(await buildProgram(ctx, ['image', 'bogus'])).length, 35);
});
