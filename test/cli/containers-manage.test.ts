// The commands around a container's life, tsdocker next to the docker CLI on the same daemon (each
// of container-daemons.ts): ps (the table byte for byte, -q, --no-trunc, filters, --format, -s,
// -n/-l), logs (-t, --tail, --since, -f), exec (statuses, -i, -u/-w/-e, -d), wait, stop, kill,
// restart, rename, rm, start, attach, top, diff, export, commit, port and inspect.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as tar from 'tar-stream';
import { TEST_TIMEOUT } from '../interop/harness.js';
import { daemonFactories, uniqueName, useDaemon, type Suite } from './container-daemons.js';
import { asTsdocker, show, type CliResult } from './harness.js';

function sameOutcome(ours: CliResult, theirs: CliResult, what: string): void {
  assert.equal(ours.code, theirs.code, `${what}: exit status\n${show(ours)}\n${show(theirs)}`);
  assert.equal(ours.stdout, theirs.stdout, `${what}: stdout`);
  assert.equal(ours.stderr, asTsdocker(theirs.stderr), `${what}: stderr`);
}

/**
 * Run the same listing with both CLIs until they agree: relative times ("2 seconds ago") may
 * tick between the two calls, so a difference is only a failure if it persists.
 */
async function sameListing(s: Suite, args: string[]): Promise<CliResult> {
  let ours: CliResult | undefined;
  let theirs: CliResult | undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    ours = await s.cli.tsdocker(args);
    theirs = await s.cli.docker(args);
    if (ours.code === theirs.code && ours.stdout === theirs.stdout && ours.stderr === asTsdocker(theirs.stderr)) return ours;
    await new Promise((r) => setTimeout(r, 150));
  }
  sameOutcome(ours!, theirs!, args.join(' '));
  return ours!;
}

async function started(s: Suite, name: string, args: string[], command: string[]): Promise<string> {
  const r = await s.cli.docker(['run', '-d', '--name', name, '--network', 'none', ...args, s.image, ...command]);
  assert.equal(r.code, 0, show(r));
  return r.stdout.trim();
}

for (const daemon of daemonFactories) {
  describe(`container commands against ${daemon.name}`, () => {
    const ready = useDaemon(daemon);

    test('ps: the table, -a, -q, --no-trunc, -s, -n/-l, filters and --format as docker prints them', TEST_TIMEOUT, async (t) => {
      const s = ready(t, 'containers');
      if (!s) return;
      const running = uniqueName('ps-run');
      const exited = uniqueName('ps-exit');
      const label = uniqueName('ps');
      t.after(() => s.cli.docker(['rm', '-f', running, exited]));
      await started(s, running, ['-l', `suite=${label}`, '-l', 'b=2'], ['sh', '-c', 'echo "<a long command line with \\"quotes\\" & a tab\t>"; sleep 120']);
      await started(s, exited, ['-l', `suite=${label}`], ['sh', '-c', 'exit 3']);
      assert.equal((await s.cli.docker(['wait', exited])).stdout, '3\n');
      const only = ['--filter', `label=suite=${label}`];
      for (const args of [
        ['ps', ...only],
        ['ps', '-a', ...only],
        ['ps', '-a', '--no-trunc', ...only],
        ['ps', '-aq', ...only],
        ['ps', '-a', '-q', '--no-trunc', ...only],
        ['ps', '-a', '-s', ...only],
        ['ps', '-a', '--filter', 'status=exited', ...only],
        ['ps', '-a', '--filter', `name=${running}`],
        ['ps', '-n', '1', ...only],
        ['ps', '-l', ...only],
        ['ps', '-a', '--format', '{{.Names}}\t{{.Status}}\t{{.State}}\t{{.Labels}}\t{{.Command}}', ...only],
        ['ps', '-a', '--format', 'table {{.ID}}\t{{.Names}}\t{{.Size}}\t{{.Networks}}\t{{.Mounts}}\t{{.LocalVolumes}}', ...only],
        ['ps', '-a', '--format', 'json', ...only],
        ['ps', '-a', '--no-trunc', '--format', 'json', ...only],
        ['container', 'ls', '-a', '--format', '{{.Image}} {{.CreatedAt}} {{.Platform}}', ...only],
        ['ps', '-q', '--format', '{{.Names}}', ...only],
        ['ps', '--filter', 'bogus=1'],
        ['ps', '--format', '{{.Nope'],
      ]) {
        await sameListing(s, args);
      }
      const table = await s.cli.tsdocker(['ps', '-a', ...only]);
      assert.match(table.stdout, /^CONTAINER ID {3}IMAGE {2,}COMMAND {2,}CREATED {2,}STATUS {2,}PORTS {2,}NAMES\n/);
      assert.match(table.stdout, /"sh -c 'echo \\"<a lon…"/);
      assert.match(table.stdout, /Exited \(3\) /);
    });

    test('logs: stdout and stderr apart, -t, --tail, --since, -f until the container exits; TTY logs as they are', TEST_TIMEOUT, async (t) => {
      const s = ready(t, 'containers');
      if (!s) return;
      const name = uniqueName('logs');
      const tty = uniqueName('logs-tty');
      t.after(() => s.cli.docker(['rm', '-f', name, tty]));
      await started(s, name, [], ['sh', '-c', 'for i in 1 2 3; do echo "out $i"; echo "err $i" >&2; done']);
      await started(s, tty, ['-t'], ['sh', '-c', 'echo "on a tty"; echo "still the tty" >&2']);
      await s.cli.docker(['wait', name, tty]);
      for (const args of [['logs', name], ['logs', '-t', name], ['logs', '--tail', '1', name], ['logs', '-n', '2', '-t', name], ['logs', '--since', '1h', name], ['logs', '--since', '2030-01-01T00:00:00Z', name], ['logs', '--until', '1h', name], ['logs', tty], ['logs', 'no-such-container'], ['container', 'logs', '--details', name]]) {
        await sameListing(s, args);
      }
      const plain = await s.cli.tsdocker(['logs', name]);
      assert.equal(plain.stdout, 'out 1\nout 2\nout 3\n');
      assert.equal(plain.stderr, 'err 1\nerr 2\nerr 3\n');
      assert.equal((await s.cli.tsdocker(['logs', tty])).stdout, 'on a tty\r\nstill the tty\r\n');
      assert.match((await s.cli.tsdocker(['logs', '-t', name])).stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z out 1\n/);

      const follow = uniqueName('follow');
      t.after(() => s.cli.docker(['rm', '-f', follow]));
      await started(s, follow, [], ['sh', '-c', 'echo first; sleep 2; echo second']);
      const followed = await s.cli.tsdocker(['logs', '-f', follow]);
      assert.equal(followed.code, 0, show(followed));
      assert.equal(followed.stdout, 'first\nsecond\n');
    });

    test('exec: the command\'s status (126 for a missing command, with the runtime\'s message), -i, -u/-w/-e, -d; wait', TEST_TIMEOUT, async (t) => {
      const s = ready(t, 'containers');
      if (!s) return;
      const name = uniqueName('exec');
      t.after(() => s.cli.docker(['rm', '-f', name]));
      await started(s, name, [], ['sleep', '120']);
      for (const args of [
        ['exec', name, 'sh', '-c', 'echo out; echo err >&2; exit 5'],
        ['exec', name, 'nonexistent-command'],
        ['exec', '-u', 'app', '-w', '/tmp', '-e', 'GREETING=hi', name, 'sh', '-c', 'id; pwd; echo $GREETING'],
        ['exec', '-u', '1000:50', name, 'id'],
        ['exec', 'no-such-container', 'true'],
        ['exec', name],
        ['exec', '-it', name, 'true'],
        ['container', 'exec', name, 'ls', '-d', '/etc'],
      ]) {
        const ours = await s.cli.tsdocker(args);
        const theirs = await s.cli.docker(args);
        sameOutcome(ours, theirs, args.join(' '));
      }
      assert.equal((await s.cli.tsdocker(['exec', name, 'sh', '-c', 'exit 5'])).code, 5);
      const piped = await s.cli.tsdocker(['exec', '-i', name, 'sh', '-c', 'tr a-z A-Z'], { input: 'shout\n' });
      assert.equal(piped.stdout, 'SHOUT\n');
      const background = await s.cli.tsdocker(['exec', '-d', name, 'sh', '-c', 'echo done > /tmp/marker']);
      assert.equal(background.code, 0, show(background));
      assert.equal(background.stdout, '');
      for (let i = 0; i < 50 && (await s.cli.docker(['exec', name, 'cat', '/tmp/marker'])).stdout !== 'done\n'; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal((await s.cli.docker(['exec', name, 'cat', '/tmp/marker'])).stdout, 'done\n');

      const short = uniqueName('wait');
      t.after(() => s.cli.docker(['rm', '-f', short]));
      await started(s, short, [], ['sh', '-c', 'sleep 1; exit 42']);
      const waited = await s.cli.tsdocker(['wait', short]);
      assert.equal(waited.stdout, '42\n');
      await sameListing(s, ['wait', short, 'no-such-container']);
    });

    test('stop, kill, restart, rename, rm, start and attach: names printed, failures as docker reports them', TEST_TIMEOUT, async (t) => {
      const s = ready(t, 'containers');
      if (!s) return;
      const a = uniqueName('life-a');
      const b = uniqueName('life-b');
      const renamed = uniqueName('life-renamed');
      t.after(() => s.cli.docker(['rm', '-f', a, b, renamed]));
      await started(s, a, [], ['sleep', '120']);
      await started(s, b, [], ['sh', '-c', 'trap "exit 9" TERM; while true; do sleep 0.1; done']);

      const stop = await s.cli.tsdocker(['stop', '-t', '1', a, b]);
      assert.equal(stop.code, 0, show(stop));
      assert.equal(stop.stdout, `${a}\n${b}\n`);
      assert.equal((await s.cli.docker(['inspect', '-f', '{{.State.ExitCode}}', a, b])).stdout, '137\n9\n', 'sleep ignores SIGTERM as PID 1 and is killed; the trap exits 9');
      const start = await s.cli.tsdocker(['start', a, 'no-such-container', b]);
      const dockerStart = await s.cli.docker(['start', a, 'no-such-container', b]);
      assert.equal(start.code, 1);
      assert.equal(start.stdout, `${a}\n${b}\n`);
      assert.equal(start.stderr, asTsdocker(dockerStart.stderr));
      const kill = await s.cli.tsdocker(['kill', '-s', 'KILL', a]);
      assert.equal(kill.stdout, `${a}\n`);
      assert.equal((await s.cli.docker(['wait', a])).stdout, '137\n');
      await sameListing(s, ['kill', 'no-such-container']);
      await sameListing(s, ['kill', '-s', 'BOGUS', b]);
      await sameListing(s, ['stop', 'no-such-1', 'no-such-2']);
      const restart = await s.cli.tsdocker(['restart', '-t', '0', b]);
      assert.equal(restart.stdout, `${b}\n`);
      assert.equal((await s.cli.docker(['inspect', '-f', '{{.State.Running}} {{.RestartCount}}', b])).stdout, 'true 0\n');

      const rename = await s.cli.tsdocker(['rename', a, renamed]);
      assert.equal(rename.code, 0, show(rename));
      assert.equal((await s.cli.docker(['inspect', '-f', '{{.Name}}', renamed])).stdout, `/${renamed}\n`);
      await sameListing(s, ['rename', 'no-such-container', 'x']);
      await sameListing(s, ['rename', renamed, b]);

      await sameListing(s, ['rm', 'no-such-1', 'no-such-2']);
      await sameListing(s, ['rm', '-f', 'no-such-container']);
      const busy = await s.cli.tsdocker(['rm', b]);
      const dockerBusy = await s.cli.docker(['rm', b]);
      assert.equal(busy.code, 1);
      assert.equal(busy.stderr, asTsdocker(dockerBusy.stderr));
      const rm = await s.cli.tsdocker(['rm', '-f', b, renamed]);
      assert.equal(rm.stdout, `${b}\n${renamed}\n`);
      assert.equal((await s.cli.docker(['ps', '-aq', '--filter', `name=${b}`])).stdout, '');

      // start -a streams and gives the status; attach follows a running container to its end.
      const once = uniqueName('start-a');
      t.after(() => s.cli.docker(['rm', '-f', once]));
      assert.equal((await s.cli.docker(['create', '--name', once, '--network', 'none', s.image, 'sh', '-c', 'echo to-out; echo to-err >&2; exit 6'])).code, 0);
      const attachedStart = await s.cli.tsdocker(['start', '-a', once]);
      assert.equal(attachedStart.code, 6, show(attachedStart));
      assert.equal(attachedStart.stdout, 'to-out\n');
      assert.equal(attachedStart.stderr, 'to-err\n');
      const interactive = uniqueName('start-i');
      t.after(() => s.cli.docker(['rm', '-f', interactive]));
      assert.equal((await s.cli.docker(['create', '-i', '--name', interactive, '--network', 'none', s.image, 'cat'])).code, 0);
      const fed = await s.cli.tsdocker(['start', '-ai', interactive], { input: 'fed through start -i\n' });
      assert.equal(fed.stdout, 'fed through start -i\n', show(fed));

      const follower = uniqueName('attach');
      t.after(() => s.cli.docker(['rm', '-f', follower]));
      await started(s, follower, [], ['sh', '-c', 'sleep 1; echo late; exit 4']);
      const attach = await s.cli.tsdocker(['attach', follower]);
      assert.equal(attach.code, 4, show(attach));
      assert.equal(attach.stdout, 'late\n');
      await sameListing(s, ['attach', follower]);
      await sameListing(s, ['attach', 'no-such-container']);
    });

    test('top, diff, export, commit, port and inspect of containers', TEST_TIMEOUT, async (t) => {
      const s = ready(t, 'containers');
      if (!s) return;
      const name = uniqueName('fs');
      t.after(() => s.cli.docker(['rm', '-f', name]));
      await started(s, name, ['-p', '127.0.0.1:18080:80', '-p', '9000/udp', '-e', 'KEPT=1'], ['sh', '-c', 'echo new > /tmp/new-file; rm /etc/image-file; sleep 120']);
      for (let i = 0; i < 50 && !(await s.cli.docker(['diff', name])).stdout.includes('/tmp/new-file'); i++) await new Promise((r) => setTimeout(r, 100));
      for (const args of [
        ['top', name],
        ['top', name, '-o', 'pid,comm'],
        ['diff', name],
        ['port', name],
        ['port', name, '80'],
        ['port', name, '81'],
        ['inspect', '-f', '{{.Name}} {{.State.Status}} {{json .Config.Env}} {{.HostConfig.NetworkMode}}', name],
        ['inspect', '--type', 'container', '-f', '{{.Id}}', name],
        ['container', 'inspect', '--size', '-f', '{{.Name}} {{.SizeRootFs}}', name],
        ['inspect', 'no-such-thing'],
        ['inspect', '--type', 'container', 'no-such-container'],
        ['container', 'inspect', 'no-such-container'],
        ['inspect', '--type', 'bogus', name],
        ['diff', 'no-such-container'],
        ['top', 'no-such-container'],
      ]) {
        await sameListing(s, args);
      }
      const inspect = await s.cli.tsdocker(['inspect', name]);
      const dockerInspect = await s.cli.docker(['inspect', name]);
      assert.equal(inspect.stdout, dockerInspect.stdout, 'inspect: the same indented JSON');
      assert.deepEqual((await s.cli.tsdocker(['diff', name])).stdout.split('\n').filter(Boolean).sort(), ['A /tmp/new-file', 'C /etc', 'C /tmp', 'D /etc/image-file'].sort());

      // Stopped, its filesystem holds still: the file and the pipe get the same bytes.
      assert.equal((await s.cli.docker(['stop', '-t', '0', name])).code, 0);
      const file = join(s.work, `${name}.tar`);
      const exported = await s.cli.tsdocker(['export', '-o', file, name]);
      assert.equal(exported.code, 0, show(exported));
      const archive = await readFile(file);
      const names = await tarNames(archive);
      assert.ok(names.includes('tmp/new-file') && names.includes('bin/busybox') && !names.includes('etc/image-file'), names.slice(0, 20).join(' '));
      const piped = await s.cli.tsdocker(['export', name]);
      assert.ok(piped.raw.equals(archive), `piped ${piped.raw.length} bytes, the file ${archive.length}`);
      await sameListing(s, ['export', 'no-such-container']);

      const repo = `tsdtest/committed-${name}`;
      t.after(() => s.cli.docker(['rmi', '-f', `${repo}:v1`]));
      const commit = await s.cli.tsdocker(['commit', '-a', 'Tester <t@example.test>', '-m', 'a message', '-c', 'CMD ["cat", "/tmp/new-file"]', '-c', 'LABEL committed=yes', name, `${repo}:v1`]);
      assert.equal(commit.code, 0, show(commit));
      assert.match(commit.stdout, /^sha256:[0-9a-f]{64}\n$/);
      assert.equal(
        (await s.cli.docker(['inspect', '-f', '{{.Id}}|{{.Author}}|{{.Comment}}|{{json .Config.Cmd}}|{{.Config.Labels.committed}}', `${repo}:v1`])).stdout,
        `${commit.stdout.trim()}|Tester <t@example.test>|a message|["cat","/tmp/new-file"]|yes\n`,
      );
      const runCommitted = await s.cli.tsdocker(['run', '--rm', '--network', 'none', `${repo}:v1`]);
      assert.equal(runCommitted.stdout, 'new\n');
      await sameListing(s, ['commit', 'no-such-container']);
    });
  });
}

async function tarNames(bytes: Buffer): Promise<string[]> {
  const extract = tar.extract();
  const names: string[] = [];
  extract.on('entry', (header, stream, next) => {
    names.push(header.name.replace(/^\.\//, '').replace(/\/$/, ''));
    stream.on('end', next);
    stream.resume();
  });
  await new Promise<void>((resolve, reject) => {
    extract.on('finish', resolve);
    extract.on('error', reject);
    extract.end(bytes);
  });
  return names;
}
