/**
 * A test process that works inside a network namespace: it setns()es its main thread into the
 * namespace file in argv[2] first, or with `new` unshares a namespace of its own (Node creates
 * sockets on the main thread, so every socket below lives in that namespace), then does one job:
 *   links                     print the interface names the namespace has (from /proc/thread-self/net/dev)
 *   serve-tcp PORT            answer each connection with `NAME:<what it sent>`; prints `ready`
 *   serve-udp PORT            answer each datagram the same way; prints `ready`
 *   tcp HOST PORT MSG         send MSG, half-close, print the answer (exit 1 on failure)
 *   tcp-probe HOST PORT       print `connected` or `blocked` (no connection within 1.5 s, or refused)
 *   udp HOST PORT MSG         send MSG, print the answer
 * NAME is argv[3] for the servers.
 */
import { createSocket } from 'node:dgram';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { CLONE_NEWNET, setns, unshare } from '../../engine/network/native.js';

const [nsPath, job, ...args] = process.argv.slice(2);
if (nsPath === 'new') {
  // A namespace of its own, as the runtime's shim makes one: named by /proc/<pid>/ns/net.
  unshare(CLONE_NEWNET);
} else {
  const fd = openSync(nsPath!, 'r');
  setns(fd, CLONE_NEWNET);
  closeSync(fd);
}

const timeout = setTimeout(() => {
  process.stderr.write(`in-netns ${job}: timed out\n`);
  process.exit(2);
}, 20_000);

switch (job) {
  case 'links': {
    const names = readFileSync('/proc/thread-self/net/dev', 'utf8')
      .split('\n')
      .slice(2)
      .map((l) => l.split(':')[0]!.trim())
      .filter((n) => n !== '');
    process.stdout.write(`${JSON.stringify(names)}\n`);
    clearTimeout(timeout);
    break;
  }
  case 'serve-tcp': {
    clearTimeout(timeout);
    const [port, name] = args;
    const server = createServer({ allowHalfOpen: true }, (s) => {
      let got = '';
      s.setEncoding('utf8').on('data', (d: string) => (got += d));
      s.on('end', () => s.end(`${name}:${got}`));
      s.on('error', () => s.destroy());
    });
    server.listen(Number(port), '0.0.0.0', () => process.stdout.write('ready\n'));
    break;
  }
  case 'serve-udp': {
    clearTimeout(timeout);
    const [port, name] = args;
    const socket = createSocket('udp4');
    socket.on('message', (msg, from) => socket.send(`${name}:${msg.toString()}`, from.port, from.address));
    socket.bind(Number(port), '0.0.0.0', () => process.stdout.write('ready\n'));
    break;
  }
  case 'tcp': {
    const [host, port, msg] = args;
    const s = connect({ host: host!, port: Number(port), allowHalfOpen: true }, () => s.end(msg));
    let got = '';
    s.setEncoding('utf8').on('data', (d: string) => (got += d));
    s.on('end', () => {
      process.stdout.write(`${got}\n`);
      clearTimeout(timeout);
      s.destroy();
    });
    s.on('error', (err) => {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    });
    break;
  }
  case 'tcp-probe': {
    // Does a connection open within 1.5 s? Prints `connected` or `blocked` (a dropped SYN times out).
    const [host, port] = args;
    const s = connect({ host: host!, port: Number(port) });
    const finish = (what: string) => {
      process.stdout.write(`${what}\n`);
      clearTimeout(timeout);
      s.destroy();
    };
    const probe = setTimeout(() => finish('blocked'), 1500);
    s.on('connect', () => {
      clearTimeout(probe);
      finish('connected');
    });
    s.on('error', () => {
      clearTimeout(probe);
      finish('blocked');
    });
    break;
  }
  case 'udp': {
    const [host, port, msg] = args;
    const socket = createSocket('udp4');
    socket.on('message', (reply) => {
      process.stdout.write(`${reply.toString()}\n`);
      clearTimeout(timeout);
      socket.close();
    });
    socket.send(msg!, Number(port), host!);
    break;
  }
  default:
    process.stderr.write(`unknown job ${job}\n`);
    process.exit(2);
}
