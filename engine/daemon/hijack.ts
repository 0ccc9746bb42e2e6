/**
 * Hijacked connections (attach, exec start): the 101 answer dockerd sends, the request body that
 * may precede the raw stream, and the relay between a client socket and a runtime stdio session
 * (raw bytes with a TTY, docker's 8-byte multiplexed frames without).
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { defaultDetachKeys, DetachScanner } from '../runtime/detach-keys.js';
import { encodeFrame, STDERR, STDOUT, type StdioSession } from '../runtime/index.js';

export const RAW_STREAM = 'application/vnd.docker.raw-stream';
export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';

export function sendUpgraded(socket: Duplex, tty: boolean): void {
  socket.write(`HTTP/1.1 101 UPGRADED\r\nContent-Type: ${tty ? RAW_STREAM : MULTIPLEXED_STREAM}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`);
}

/** An error answer on a connection not yet upgraded. */
export function refuseUpgrade(socket: Duplex, status: number, message: string): void {
  const reason: Record<number, string> = { 304: 'Not Modified', 400: 'Bad Request', 404: 'Not Found', 409: 'Conflict', 500: 'Internal Server Error' };
  const body = `${JSON.stringify({ message })}\n`;
  socket.end(`HTTP/1.1 ${status} ${reason[status] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/**
 * The request body (Content-Length bytes, from `head` and then the socket) and whatever came after
 * it (the first stdin bytes).
 */
export function readUpgradeBody(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<{ body: Buffer; rest: Buffer }> {
  const length = Number(req.headers['content-length'] ?? 0);
  if (!Number.isSafeInteger(length) || length <= 0) return Promise.resolve({ body: Buffer.alloc(0), rest: head });
  return new Promise((resolve, reject) => {
    let got = head;
    const check = (): boolean => {
      if (got.length < length) return false;
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.pause();
      resolve({ body: got.subarray(0, length), rest: got.subarray(length) });
      return true;
    };
    const onData = (d: Buffer): void => {
      got = Buffer.concat([got, d]);
      check();
    };
    const onEnd = (): void => reject(new Error('the client closed the connection before sending the request body'));
    if (check()) return;
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.resume();
  });
}

export interface RelayOptions {
  tty: boolean;
  /** Forward the client's bytes to the process's stdin (and its half-close as end of input). */
  stdin: boolean;
  /** Bytes that came with the request, before the stream. */
  rest?: Buffer;
  /** Ends with the process; the relay closes the client's side once the output is drained. */
  exit: Promise<unknown>;
  /** With a TTY and stdin: the key sequence that detaches (dockerd's default ctrl-p,ctrl-q). */
  detachKeys?: Buffer;
  /** Called once the client typed the detach keys (the connection is then closed). */
  onDetach?: () => void;
}

/** Relay until the process has exited and its output is written, or the client goes. */
export function relay(socket: Duplex, session: StdioSession, o: RelayOptions): Promise<void> {
  return new Promise((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      resolve();
    };
    socket.on('error', () => {});
    session.stdin.on('error', () => {});
    if (o.stdin) {
      // As dockerd: only a TTY's input is scanned for the detach keys, which never reach it.
      const scanner = o.tty ? new DetachScanner(o.detachKeys ?? defaultDetachKeys) : undefined;
      const leave = (): void => {
        session.detach();
        socket.end();
        finish();
      };
      const input = (d: Buffer): void => {
        const { pass, detached } = scanner ? scanner.scan(d) : { pass: d, detached: false };
        if (pass.length > 0) session.stdin.write(pass);
        if (!detached) return;
        socket.off('data', input);
        o.onDetach?.();
        leave();
      };
      if (o.rest && o.rest.length > 0) input(o.rest);
      socket.on('data', input);
      // As dockerd: a TTY's input has no end; the client's ends the attach, not the process.
      socket.once('end', () => (o.tty ? leave() : session.stdin.end()));
    } else {
      socket.on('data', () => {});
    }
    socket.resume();
    const write = (type: typeof STDOUT | typeof STDERR) => (d: Buffer): void => {
      if (!socket.destroyed && socket.writable) socket.write(o.tty ? d : encodeFrame(type, d));
    };
    session.stdout.on('data', write(STDOUT));
    session.stderr.on('data', write(STDERR));
    const ended = (s: NodeJS.ReadableStream) => new Promise<void>((r) => {
      s.once('end', () => r());
      s.once('close', () => r());
    });
    const drained = Promise.all([ended(session.stdout), ended(session.stderr)]);
    socket.once('close', () => {
      session.detach();
      finish();
    });
    void Promise.all([o.exit.catch(() => {}), drained]).then(() => {
      socket.end();
      finish();
    });
  });
}
