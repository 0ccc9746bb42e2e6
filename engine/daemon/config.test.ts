import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { isTsdError } from '../../shared/errors.js';
import { tempDir } from '../../test/helpers/env.js';
import { defaults, parseDaemonArgs, type DaemonConfig } from './config.js';

async function config(argv: string[]): Promise<DaemonConfig> {
  const parsed = await parseDaemonArgs(argv);
  assert.equal(parsed.kind, 'run', JSON.stringify(parsed));
  return (parsed as { config: DaemonConfig }).config;
}

test('flags: dockerd names, repeatable -H and --insecure-registry, numbers checked', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'empty.json');
  await writeFile(file, '');
  const c = await config([
    '--config-file', file,
    '--data-root', '/srv/tsd/', '-H', 'unix:///run/a.sock', '--host', 'tcp://127.0.0.1:2375',
    '--insecure-registry', 'reg.local:5000', '--insecure-registry', 'other:80',
    '-s', 'overlay2', '--max-concurrent-downloads', '7', '--max-concurrent-uploads', '2', '-D', '--pidfile', '',
  ]);
  assert.equal(c.dataRoot, '/srv/tsd');
  assert.deepEqual(c.hosts, ['unix:///run/a.sock', 'tcp://127.0.0.1:2375']);
  assert.deepEqual(c.insecureRegistries, ['reg.local:5000', 'other:80']);
  assert.equal(c.storageDriver, 'overlay');
  assert.equal(c.maxConcurrentDownloads, 7);
  assert.equal(c.maxConcurrentUploads, 2);
  assert.equal(c.pidfile, '');
  assert.equal(c.debug, true);
  assert.equal(c.logLevel, 'debug');
});

test('defaults when nothing is given (and no default config file on this machine)', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'd.json'), '{}');
  const c = await config(['--config-file', join(dir, 'd.json')]);
  assert.deepEqual(c, defaults);
});

test('bad flags: exit 125 with the reason; -v and --help exit 0', async () => {
  const bad = await parseDaemonArgs(['--no-such-flag']);
  assert.equal(bad.kind, 'exit');
  assert.equal((bad as { code: number }).code, 125);
  assert.match((bad as { stderr: string }).stderr, /unknown option '--no-such-flag'/);
  const version = await parseDaemonArgs(['-v']);
  assert.equal((version as { code: number }).code, 0);
  assert.match((version as { stdout: string }).stdout, /^tsdockerd version \d+\.\d+\.\d+/);
  const help = await parseDaemonArgs(['--help']);
  assert.equal((help as { code: number }).code, 0);
  for (const flag of ['--data-root', '--host', '--storage-driver', '--insecure-registry', '--max-concurrent-downloads', '--pidfile', '--config-file']) {
    assert.ok((help as { stdout: string }).stdout.includes(flag), `help lists ${flag}`);
  }
  // A config file named explicitly must exist.
  await assert.rejects(parseDaemonArgs(['--config-file', '/nonexistent/x.json']), (e) => isTsdError(e, 'CONFIG_INVALID') && /open \/nonexistent\/x.json/.test(e.message));
});

test('invalid values: hosts, storage driver, counts, log level', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'd.json');
  await writeFile(file, '{}');
  for (const [args, pattern] of [
    [['-H', 'unix://relative.sock'], /must be absolute/],
    [['-H', 'tcp://127.0.0.1'], /tcp:\/\/HOST:PORT/],
    [['-H', 'fd://'], /not supported/],
    [['-s', 'btrfs'], /unknown storage driver "btrfs"/],
    [['--max-concurrent-downloads', '0'], /at least 1/],
    [['--max-concurrent-uploads', 'many'], /must be an integer/],
    [['--log-level', 'loud'], /unable to parse logging level: loud/],
    [['--data-root', 'relative'], /absolute path/],
  ] as Array<[string[], RegExp]>) {
    await assert.rejects(parseDaemonArgs([...args, '--config-file', file]), pattern, args.join(' '));
  }
});

test('daemon.json: keys of the same names; conflicts with flags and unknown keys are refused', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'daemon.json');
  await writeFile(file, JSON.stringify({
    'data-root': '/srv/data', hosts: ['unix:///run/x.sock'], 'insecure-registries': ['r:5000'], 'storage-driver': 'vfs',
    'max-concurrent-downloads': 9, 'log-level': 'warn', 'log-format': 'json', 'shutdown-timeout': 3,
  }));
  const c = await config(['--config-file', file, '--exec-root', '/run/e']);
  assert.equal(c.dataRoot, '/srv/data');
  assert.deepEqual(c.hosts, ['unix:///run/x.sock']);
  assert.deepEqual(c.insecureRegistries, ['r:5000']);
  assert.equal(c.storageDriver, 'vfs');
  assert.equal(c.maxConcurrentDownloads, 9);
  assert.equal(c.logFormat, 'json');
  assert.equal(c.shutdownTimeout, 3);
  assert.equal(c.execRoot, '/run/e');

  await assert.rejects(parseDaemonArgs(['--config-file', file, '-H', 'unix:///run/y.sock']), (e) =>
    isTsdError(e, 'CONFIG_INVALID') && /specified both as a flag and in the configuration file: hosts: \(from flag: \["unix:\/\/\/run\/y.sock"\], from file: \["unix:\/\/\/run\/x.sock"\]\)/.test(e.message),
  );
  await writeFile(file, JSON.stringify({ 'data-root': '/x', bogus: 1 }));
  await assert.rejects(parseDaemonArgs(['--config-file', file]), /don't match any configuration option: bogus/);
  await writeFile(file, '{"hosts": "unix:///one"}');
  await assert.rejects(parseDaemonArgs(['--config-file', file]), /hosts must be a list of strings/);
  await writeFile(file, '{not json');
  await assert.rejects(parseDaemonArgs(['--config-file', file]), /unable to configure the daemon with file/);
});
