/**
 * The client side of a shim's attach socket (protocol.ts): a connection that sends the hello
 * and then stdin frames and control messages, and splits what comes back into stdout, stderr
 * and control messages.
 */
import { EventEmitter, once } from 'node:events';
import { closeSync, openSync, constants as fsConstants } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { CONTROL, encodeControl, encodeFrame, FrameDecoder, STDERR, STDIN, STDOUT } from './frames.js';
import type { ClientControl, ClientHello } from './protocol.js';
import { SOCKET_FILE } from './state.js';

/** sun_path holds 108 bytes including the NUL. */
const SUN_PATH_MAX = 107;

/** Connect to the socket in `stateDir`; a long path goes through /proc/self/fd/<dirfd>/. */
export async function connectSocket(stateDir: string): Promise<Socket> {
  const direct = join(stateDir, SOCKET_FILE);
  let dirFd: number | undefined;
  let path = direct;
  if (Buffer.byteLength(direct) > SUN_PATH_MAX) {
    dirFd = openSync(stateDir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    path = `/proc/self/fd/${dirFd}/${SOCKET_FILE}`;
  }
  try {
    const socket = connect(path);
    await once(socket, 'connect');
    return socket;
  } finally {
    if (dirFd !== undefined) closeSync(dirFd);
  }
}

/** Is this a "nobody is listening there" error (the shim has gone, or is closing its socket)? */
export function isNotListening(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ECONNRESET';
}

export class ShimConnection extends EventEmitter {
  readonly stdout = new PassThrough();
  readonly stderr = new PassThrough();
  /** Writes become stdin frames; end() asks the shim to close the process's stdin. */
  readonly stdin: Writable;
  private readonly controls: object[] = [];
  private closed = false;

  private constructor(private readonly socket: Socket) {
    super();
    const decoder = new FrameDecoder((type, payload) => {
      if (type === STDOUT) this.stdout.write(payload);
      else if (type === STDERR) this.stderr.write(payload);
      else if (type === CONTROL) {
        const msg = JSON.parse(payload.toString('utf8')) as object;
        this.controls.push(msg);
        this.emit('control', msg);
      }
    });
    socket.on('data', (d: Buffer) => {
      try {
        decoder.push(d);
      } catch (err) {
        socket.destroy(err as Error);
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.stdout.end();
      this.stderr.end();
      this.emit('close');
    });
    this.stdin = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (socket.destroyed) return cb();
        socket.write(encodeFrame(STDIN, chunk), () => cb());
      },
      final: (cb) => {
        this.control({ closeStdin: true });
        cb();
      },
    });
  }

  static async open(stateDir: string, hello: ClientHello): Promise<ShimConnection> {
    const socket = await connectSocket(stateDir);
    const conn = new ShimConnection(socket);
    socket.write(encodeControl(hello));
    return conn;
  }

  control(msg: ClientControl): void {
    if (!this.socket.destroyed) this.socket.write(encodeControl(msg));
  }

  /** The first control message that has `key`, or undefined if the connection closes first. */
  async next<T>(key: string): Promise<T | undefined> {
    const seen = this.controls.find((m) => key in m) as Record<string, T> | undefined;
    if (seen) return seen[key];
    if (this.closed) return undefined;
    return new Promise((resolve) => {
      const onControl = (m: Record<string, T>): void => {
        if (!(key in m)) return;
        cleanup();
        resolve(m[key]);
      };
      const onClose = (): void => {
        cleanup();
        resolve(undefined);
      };
      const cleanup = (): void => {
        this.off('control', onControl);
        this.off('close', onClose);
      };
      this.on('control', onControl);
      this.on('close', onClose);
    });
  }

  /** A control message with `error`, if one came. */
  errorMessage(): { error: string; exitCode?: number } | undefined {
    return this.controls.find((m) => 'error' in m) as { error: string; exitCode?: number } | undefined;
  }

  close(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }
}
