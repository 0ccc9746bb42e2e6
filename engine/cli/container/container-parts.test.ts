// Unit tests of the container commands' parts, without a daemon or a pty: docker's stream frames,
// the detach keys, raw mode and resizes of an attached TTY (on a fake terminal over a real
// socket), flag values with docker's messages, env files, -p and -v specs, the create request
// against bodies the docker CLI 28.2 sent for the same flags, and ps's columns.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { test } from 'node:test';
import { CliContext } from '../context.js';
import { containerRow, displayablePorts, truncateId } from '../format/container-rows.js';
import { ellipsis, goQuote } from '../format/go-quote.js';
import { streamAttached } from './attach-streams.js';
import { createRequest } from './container-config.js';
import { DetachScanner, parseDetachKeys } from '../../runtime/detach-keys.js';
import { eachContainer } from './each-container.js';
import { environment, parseEnvFile } from './env-file.js';
import { attachStream, environmentEntry, goInt, nanoCpus, pullPolicy, ramInBytes, restartPolicy } from './flag-values.js';
import { apiTimestamp, goDurationNanos } from './log-times.js';
import { addExposed, parsePublish } from './port-specs.js';
import { startFailureStatus } from './run-errors.js';
import { demultiplex } from './stdcopy.js';
import { monitorTerminalSize } from './terminal.js';
import { parseVolumes } from './volume-specs.js';

class Sink extends Writable {
  chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk);
    done();
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

test('demultiplex: frames split anywhere go to stdout and stderr; stdin frames to stdout; an error frame fails', async () => {
  const stream = Buffer.concat([frame(1, 'out one\n'), frame(2, 'err one\n'), frame(1, ''), frame(0, 'stdin echo\n'), frame(1, 'out two\n')]);
  for (const size of [1, 3, 8, 9, stream.length]) {
    const out = new Sink();
    const err = new Sink();
    await demultiplex(chunked(stream, size), out, err);
    assert.equal(out.text, 'out one\nstdin echo\nout two\n', `chunks of ${size}`);
    assert.equal(err.text, 'err one\n');
  }
  const dropped = new Sink();
  await demultiplex(chunked(stream, 5), dropped, undefined);
  assert.equal(dropped.text, 'out one\nstdin echo\nout two\n', 'no stderr sink: its frames are dropped');
  await assert.rejects(demultiplex(chunked(Buffer.concat([frame(1, 'x'), frame(3, 'container exited badly')]), 2), new Sink(), new Sink()), {
    message: 'error from daemon in stream: container exited badly',
  });
  await assert.rejects(demultiplex(chunked(frame(7, 'x'), 100), new Sink(), new Sink()), { message: 'Unrecognized input header: 7' });
});

test('detach keys: docker\'s spellings; a held-back partial sequence goes through when the next key breaks it', () => {
  assert.deepEqual([...parseDetachKeys('ctrl-p,ctrl-q')!], [16, 17]);
  assert.deepEqual([...parseDetachKeys('ctrl-@,ctrl-[,ctrl-_,a,Z')!], [0, 27, 31, 97, 90]);
  assert.equal(parseDetachKeys('ctrl-pp'), undefined);
  assert.equal(parseDetachKeys('alt-x'), undefined);
  const scanner = new DetachScanner(parseDetachKeys('ctrl-p,ctrl-q')!);
  assert.deepEqual(scanner.scan(Buffer.from('ab\x10')), { pass: Buffer.from('ab'), detached: false });
  assert.deepEqual(scanner.scan(Buffer.from('c')), { pass: Buffer.from('\x10c'), detached: false });
  assert.deepEqual(scanner.scan(Buffer.from('\x10\x10')), { pass: Buffer.from('\x10'), detached: false });
  assert.deepEqual(scanner.scan(Buffer.from('\x11rest')), { pass: Buffer.from(''), detached: true });
});

/** A connected pair of real sockets (loopback), as a hijacked connection gives one. */
async function socketPair(): Promise<{ client: Socket; server: Socket; close: () => void }> {
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const port = (listener.address() as { port: number }).port;
  const accepted = new Promise<Socket>((resolve) => listener.once('connection', resolve));
  const client = connect(port, '127.0.0.1');
  const server = await accepted;
  return { client, server, close: () => (client.destroy(), server.destroy(), listener.close()) };
}

/** A terminal stand-in: a stream that says it is a TTY and records raw-mode switches. */
function fakeTerminal(): PassThrough & { isTTY: boolean; fd: number; modes: boolean[]; setRawMode(raw: boolean): void } {
  const input = Object.assign(new PassThrough(), { isTTY: true, fd: -1, modes: [] as boolean[] });
  return Object.assign(input, {
    setRawMode(raw: boolean) {
      input.modes.push(raw);
    },
  });
}

test('an attached TTY: raw mode while streaming, restored after; keys typed reach the container; ctrl-p ctrl-q detaches', async () => {
  const { client, server, close } = await socketPair();
  try {
    const stdin = fakeTerminal();
    const stdout = new Sink();
    const received: Buffer[] = [];
    server.on('data', (d: Buffer) => received.push(d));
    const streaming = streamAttached({ connection: { socket: client, head: Buffer.from('hello '), contentType: undefined }, tty: true, stdin, stdout, stderr: stdout });
    server.write('from the tty\r\n');
    await new Promise((r) => setTimeout(r, 50));
    stdin.write('ls\r');
    await new Promise((r) => setTimeout(r, 50));
    stdin.write('\x10\x11');
    assert.equal(await streaming, 'detached');
    assert.deepEqual(stdin.modes, [true, false]);
    assert.equal(stdout.text, 'hello from the tty\r\n');
    assert.equal(Buffer.concat(received).toString(), 'ls\r');
  } finally {
    close();
  }
});

test('without a TTY: stdin\'s end closes the write side, the output is demultiplexed until the daemon ends it', async () => {
  const { client, server, close } = await socketPair();
  try {
    const stdin = new PassThrough();
    const stdout = new Sink();
    const stderr = new Sink();
    const received: Buffer[] = [];
    server.on('data', (d: Buffer) => received.push(d));
    server.on('end', () => {
      // The container's stdin is closed: it answers and the daemon ends the stream.
      server.end(Buffer.concat([frame(1, `got ${Buffer.concat(received).toString()}`), frame(2, 'bye\n')]));
    });
    const streaming = streamAttached({ connection: { socket: client, head: Buffer.alloc(0), contentType: undefined }, tty: false, stdin, stdout, stderr });
    stdin.end('input\n');
    assert.equal(await streaming, 'done');
    assert.equal(stdout.text, 'got input\n');
    assert.equal(stderr.text, 'bye\n');
  } finally {
    close();
  }
});

test('terminal size: resized at once, and again on SIGWINCH; a daemon that keeps refusing gets docker\'s warning', async () => {
  let size = { height: 30, width: 100 };
  const seen: string[] = [];
  const stop = monitorTerminalSize(() => size, async (s) => void seen.push(`${s.height}x${s.width}`), () => assert.fail('no warning expected'));
  await new Promise((r) => setTimeout(r, 20));
  size = { height: 40, width: 120 };
  process.emit('SIGWINCH', 'SIGWINCH');
  await new Promise((r) => setTimeout(r, 20));
  stop();
  process.emit('SIGWINCH', 'SIGWINCH');
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(seen, ['30x100', '40x120']);

  let attempts = 0;
  const warned = await new Promise<string>((resolve) => {
    const stopRefused = monitorTerminalSize(() => size, async () => {
      attempts++;
      throw new Error('no such container');
    }, (text) => {
      stopRefused();
      resolve(text);
    });
  });
  assert.equal(warned, 'failed to resize tty, using default size\n');
  assert.equal(attempts, 11);
});

test('flag values with docker\'s messages: sizes, CPUs, integers, restart policies, env entries, streams, pull policies', () => {
  assert.equal(ramInBytes('512'), 512);
  assert.equal(ramInBytes('64m'), 64 * 1024 ** 2);
  assert.equal(ramInBytes('1.5g'), 1.5 * 1024 ** 3);
  assert.equal(ramInBytes('32MiB'), 32 * 1024 ** 2);
  assert.equal(ramInBytes('2 kb'), 2048);
  assert.equal(ramInBytes('10b'), 10);
  assert.throws(() => ramInBytes('12x'), { message: "invalid suffix: 'x'" });
  assert.throws(() => ramInBytes('1mbx'), { message: "invalid suffix: 'mbx'" });
  assert.throws(() => ramInBytes('abc'), { message: "invalid size: 'abc'" });
  assert.throws(() => ramInBytes('1.2.3m'), { message: 'strconv.ParseFloat: parsing "1.2.3": invalid syntax' });
  assert.equal(nanoCpus('0.5'), 500_000_000);
  assert.equal(nanoCpus('2'), 2_000_000_000);
  assert.equal(nanoCpus('3/4'), 750_000_000);
  assert.equal(nanoCpus('1.5e-1'), 150_000_000);
  assert.throws(() => nanoCpus('1.2.3'), { message: 'failed to parse 1.2.3 as a rational number' });
  assert.throws(() => nanoCpus('0.0000000001'), { message: 'value is too precise' });
  assert.equal(goInt('50'), 50);
  assert.equal(goInt('-1'), -1);
  assert.equal(goInt('0x10'), 16);
  assert.equal(goInt('010'), 8);
  assert.throws(() => goInt('x'), { message: 'strconv.ParseInt: parsing "x": invalid syntax' });
  assert.throws(() => goInt('99999999999999999999'), { message: 'strconv.ParseInt: parsing "99999999999999999999": value out of range' });
  assert.deepEqual(restartPolicy('on-failure:3'), { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.deepEqual(restartPolicy('always'), { Name: 'always', MaximumRetryCount: 0 });
  assert.throws(() => restartPolicy('on-failure:x'), { message: 'invalid restart policy format: maximum retry count must be an integer' });
  assert.throws(() => restartPolicy(':3'), { message: 'invalid restart policy format: no policy provided before colon' });
  const entry = environmentEntry({ SET: 'from env' });
  assert.equal(entry('A=1'), 'A=1');
  assert.equal(entry('SET'), 'SET=from env');
  assert.equal(entry('UNSET'), 'UNSET');
  assert.throws(() => entry('=x'), { message: 'invalid environment variable: =x' });
  assert.equal(attachStream('STDOUT'), 'stdout');
  assert.throws(() => attachStream('bogus'), { message: 'valid streams are STDIN, STDOUT and STDERR' });
  assert.equal(pullPolicy('never'), 'never');
  assert.throws(() => pullPolicy('sometimes'), { message: 'invalid pull option: \'sometimes\': must be one of "always", "missing" or "never"' });
});

test('env files as docker reads them; a missing file in Go\'s words', async () => {
  const text = Buffer.from('\ufeffFIRST=1\n  # a comment\n\n   INDENTED=two words \r\nFROM_ENV\nNOT_SET\nEMPTY=\n');
  assert.deepEqual(parseEnvFile('env.list', text, { FROM_ENV: 'here' }), ['FIRST=1', 'INDENTED=two words ', 'FROM_ENV=here', 'EMPTY=']);
  assert.throws(() => parseEnvFile('bad.list', Buffer.from('MY VAR=1\n'), {}), { message: "poorly formatted environment: variable 'MY VAR' contains whitespaces" });
  assert.throws(() => parseEnvFile('bad.list', Buffer.from('=1\n'), {}), { message: "poorly formatted environment: no variable name on line '=1'" });
  assert.throws(() => parseEnvFile('bin.list', Buffer.from([0x41, 0x3d, 0xff, 0x0a]), {}), { message: 'env file bin.list contains invalid utf8 bytes at line 1: [65 61 255]' });
  const dir = await mkdtemp(join(tmpdir(), 'tsd-envfile-'));
  try {
    await writeFile(join(dir, 'a'), 'A=1\nB=2\n');
    assert.deepEqual(await environment([join(dir, 'a')], ['C=3', 'A=override'], {}), ['A=1', 'B=2', 'C=3', 'A=override']);
    await assert.rejects(environment([join(dir, 'missing')], [], {}), { message: `open ${join(dir, 'missing')}: no such file or directory` });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('-p and --expose as docker\'s nat package reads them, -v binds and anonymous volumes', () => {
  assert.deepEqual(parsePublish(['8080:80', '127.0.0.1:9000-9001:9000-9001/udp', '[::1]:53:53/udp', '443', '7000-7002:80', 'target=81,published=8081,protocol=tcp']), {
    exposed: { '80/tcp': {}, '9000/udp': {}, '9001/udp': {}, '53/udp': {}, '443/tcp': {}, '81/tcp': {} },
    bindings: {
      '80/tcp': [{ HostIp: '', HostPort: '8080' }, { HostIp: '', HostPort: '7000-7002' }],
      '9000/udp': [{ HostIp: '127.0.0.1', HostPort: '9000' }],
      '9001/udp': [{ HostIp: '127.0.0.1', HostPort: '9001' }],
      '53/udp': [{ HostIp: '::1', HostPort: '53' }],
      '443/tcp': [{ HostIp: '', HostPort: '' }],
      '81/tcp': [{ HostIp: '', HostPort: '8081' }],
    },
  });
  for (const [spec, message] of [
    ['abc', 'invalid containerPort: abc'],
    ['70000:80', 'invalid hostPort: 70000'],
    ['80:80:80:80', 'invalid IP address: 80:80'],
    ['80/xdp', 'invalid proto: xdp'],
    ['8000-8001:80-82', 'invalid ranges specified for container and host Ports: 80-82 and 8000-8001'],
  ]) {
    assert.throws(() => parsePublish([spec!]), { message }, spec);
  }
  const ports = parsePublish([]);
  addExposed(ports, ['7000-7001', '53/udp']);
  assert.deepEqual(Object.keys(ports.exposed), ['7000/tcp', '7001/tcp', '53/udp']);
  assert.throws(() => addExposed(ports, ['1:2']), { message: 'invalid port format for --expose: 1:2' });
  assert.deepEqual(parseVolumes(['/data', 'named:/srv', '/host:/in:ro', './rel:/rel'], '/work'), {
    binds: ['named:/srv', '/host:/in:ro', '/work/rel:/rel'],
    anonymous: { '/data': {} },
  });
  assert.throws(() => parseVolumes([':/x']), { message: 'invalid spec: :/x: empty section between colons' });
  assert.throws(() => parseVolumes(['/a:/b:ro:x']), { message: 'invalid spec: /a:/b:ro:x: too many colons' });
});

test('the create request is the body docker 28.2 sends for the same flags, byte for byte', async () => {
  // Bodies the docker CLI sent to dockerd on this machine (recorded through a logging proxy).
  const dockerPlain =
    '{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":true,"AttachStderr":true,"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":null,"Cmd":["true"],"Image":"tsdtest/busybox","Volumes":{},"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{},"HostConfig":{"Binds":null,"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"none","PortBindings":{},"RestartPolicy":{"Name":"no","MaximumRetryCount":0},"AutoRemove":true,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":0,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null},"NetworkingConfig":{"EndpointsConfig":{}}}';
  const plain = await createRequest('tsdtest/busybox', ['true'], { rm: true, network: 'none' }, {});
  assert.equal(JSON.stringify(plain.body), dockerPlain);
  assert.deepEqual(plain.attach, { stdin: false, stdout: true, stderr: true });

  const dockerBig =
    '{"Hostname":"hh","Domainname":"","User":"app","AttachStdin":true,"AttachStdout":true,"AttachStderr":true,"ExposedPorts":{"80/tcp":{},"9000/udp":{},"9001/udp":{}},"Tty":true,"OpenStdin":true,"StdinOnce":true,"Env":["A=1","B=x","X=1","B=x"],"Cmd":["-c","echo hi"],"Image":"tsdtest/busybox","Volumes":{"/anon":{}},"WorkingDir":"/tmp","Entrypoint":["sh"],"OnBuild":null,"Labels":{"k":"v"},"StopSignal":"SIGUSR1","StopTimeout":5,"HostConfig":{"Binds":["/tmp:/hosttmp:ro"],"ContainerIDFile":"","LogConfig":{"Type":"","Config":{}},"NetworkMode":"none","PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}],"9000/udp":[{"HostIp":"127.0.0.1","HostPort":"9000"}],"9001/udp":[{"HostIp":"127.0.0.1","HostPort":"9001"}]},"RestartPolicy":{"Name":"on-failure","MaximumRetryCount":3},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":[],"DnsOptions":[],"DnsSearch":[],"ExtraHosts":null,"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":true,"SecurityOpt":null,"Tmpfs":{"/run":"size=1m"},"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":512,"Memory":67108864,"NanoCpus":500000000,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":[],"BlkioDeviceReadBps":[],"BlkioDeviceWriteBps":[],"BlkioDeviceReadIOps":[],"BlkioDeviceWriteIOps":[],"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":[],"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":-1,"OomKillDisable":false,"PidsLimit":50,"Ulimits":[],"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"MaskedPaths":null,"ReadonlyPaths":null,"Init":true},"NetworkingConfig":{"EndpointsConfig":{}}}';
  const dir = await mkdtemp(join(tmpdir(), 'tsd-create-'));
  try {
    await writeFile(join(dir, 'envf'), 'A=1\n# c\nB\n');
    const env = { B: 'x' };
    const big = await createRequest(
      'tsdtest/busybox',
      ['-c', 'echo hi'],
      {
        interactive: true, tty: true, env: ['X=1', environmentEntry(env)('B')], envFile: [join(dir, 'envf')], user: 'app', workdir: '/tmp', hostname: 'hh',
        entrypoint: 'sh', memory: ramInBytes('64m'), cpus: nanoCpus('0.5'), cpuShares: 512, pidsLimit: 50, readOnly: true,
        volume: ['/tmp:/hosttmp:ro', '/anon'], tmpfs: ['/run:size=1m'], network: 'none', publish: ['8080:80', '127.0.0.1:9000-9001:9000-9001/udp'],
        restart: 'on-failure:3', label: ['k=v'], stopSignal: 'SIGUSR1', stopTimeout: 5, init: true,
      },
      env,
    );
    assert.equal(JSON.stringify(big.body), dockerBig);
    await assert.rejects(createRequest('x', [], { rm: true, restart: 'always' }, {}), { message: 'conflicting options: cannot specify both --restart and --rm' });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('ps columns: IDs, quoted and shortened commands, image names, ports grouped as docker groups them', () => {
  assert.equal(goQuote('sh -c \'echo "hi"\'\t\n\\ é…'), '"sh -c \'echo \\"hi\\"\'\\t\\n\\\\ é…"');
  assert.equal(goQuote('\x00\x7f\u200b'), '"\\x00\\x7f\\u200b"');
  assert.equal(ellipsis('sh -c \'echo out; echo err\'', 20), "sh -c 'echo out; ec…");
  assert.equal(ellipsis('short', 20), 'short');
  assert.equal(
    displayablePorts([
      { PrivatePort: 9988, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 9090, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 1024, PublicPort: 1024, Type: 'tcp' },
      { IP: '0.0.0.0', PrivatePort: 1025, PublicPort: 1025, Type: 'tcp' },
      { IP: '::', PrivatePort: 53, PublicPort: 53, Type: 'udp' },
      { PrivatePort: 6000, Type: 'udp' },
      { PrivatePort: 6001, Type: 'udp' },
    ]),
    '[::]:53->53/udp, 0.0.0.0:1024-1025->1024-1025/tcp, 6000-6001/udp, 9988/tcp, 0.0.0.0:9090->80/tcp',
  );
  const summary = {
    Id: 'a'.repeat(64),
    Names: ['/web', '/other/link'],
    Image: 'docker.io/library/busybox:latest@sha256:' + 'b'.repeat(64),
    ImageID: 'sha256:' + 'c'.repeat(64),
    Command: 'sleep 1000000000000',
    Created: 1_700_000_000,
    Labels: { z: '1', a: '2' },
    State: 'running',
    Status: 'Up 2 minutes',
    SizeRw: 12,
    SizeRootFs: 2_000_000,
  };
  const row = containerRow(summary, true, 1_700_000_120_000);
  assert.equal(row.ID, 'aaaaaaaaaaaa');
  assert.equal(row.Names, 'web');
  assert.equal(row.Image, 'busybox:latest');
  assert.equal(row.Command, '"sleep 1000000000000"');
  assert.equal(row.RunningFor, '2 minutes ago');
  assert.equal(row.Labels, 'a=2,z=1');
  assert.equal(row.Size, '12B (virtual 2MB)');
  assert.equal(containerRow(summary, false).Names, 'web,other/link');
  assert.equal(containerRow({ ...summary, Image: 'sha256:' + 'c'.repeat(64) }, true).Image, 'cccccccccccc');
  assert.equal(truncateId('sha256:' + 'd'.repeat(64)), 'dddddddddddd');
});

test('logs --since/--until: durations count back from now, dates are moments, Unix times pass through', () => {
  assert.equal(goDurationNanos('1h30m'), 5400e9);
  assert.equal(goDurationNanos('1.5s'), 1.5e9);
  assert.equal(goDurationNanos('10'), undefined);
  assert.equal(apiTimestamp('42m', 1_700_000_000_000), `${1_700_000_000 - 42 * 60}.000000000`);
  assert.equal(apiTimestamp('2024-01-02T03:04:05.123456789Z'), '1704164645.123456789');
  assert.equal(apiTimestamp('1700000000.5'), '1700000000.5');
  assert.throws(() => apiTimestamp('yesterday'), /failed to parse value as time or duration/);
});

test('run\'s status for a failed start: 127 not found, 126 not executable, 125 otherwise', () => {
  assert.equal(startFailureStatus('Error response from daemon: ... exec: "x": executable file not found in $PATH: unknown'), 127);
  assert.equal(startFailureStatus('Error response from daemon: ... stat /nope: no such file or directory'), 127);
  assert.equal(startFailureStatus('Error response from daemon: ... exec: "/etc/passwd": permission denied: unknown'), 126);
  assert.equal(startFailureStatus('Error response from daemon: No such image: x:latest'), 125);
});

test('each container in parallel, reported in the order given; tolerated failures on stderr only', async () => {
  const out = new Sink();
  const err = new Sink();
  const ctx = new CliContext({ stdin: new PassThrough(), stdout: out, stderr: err }, {}, 'test');
  let inFlight = 0;
  let most = 0;
  const op = async (name: string) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((r) => setTimeout(r, name === 'slow' ? 30 : 5));
    inFlight--;
    if (name.startsWith('bad')) throw new Error(`no such container: ${name}`);
  };
  await assert.rejects(eachContainer(ctx, ['slow', 'bad1', 'ok', 'bad2'], op), { message: 'no such container: bad1\nno such container: bad2' });
  assert.equal(out.text, 'slow\nok\n');
  assert.equal(most, 4);
  await eachContainer(ctx, ['bad3', 'ok'], op, { tolerate: () => true });
  assert.equal(err.text, 'no such container: bad3\n');
});
