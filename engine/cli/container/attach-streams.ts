/**
 * Copy between the local streams and a hijacked connection, as docker's hijackedIOStreamer does:
 * stdin goes to the connection (through the detach-key scanner and in raw mode when the
 * container has a TTY) and the write side is closed at its end; the output is copied raw with a
 * TTY, else demultiplexed into stdout and stderr. Done when the output ends, when stdin ends and
 * there is no output to wait for, or when the detach keys are typed.
 */
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import type { Hijacked } from '../engine-api.js';
import { DetachScanner, defaultDetachKeys, parseDetachKeys } from '../../runtime/detach-keys.js';
import { demultiplex, writeAll } from './stdcopy.js';
import { enterRawMode, type TerminalInput } from './terminal.js';

export interface StreamOptions {
  connection: Hijacked;
  tty: boolean;
  stdin?: TerminalInput;
  stdout?: Writable;
  stderr?: Writable;
  /** docker's spec (`ctrl-p,ctrl-q`); an invalid one falls back to the default with a warning. */
  detachKeys?: string;
  warn?: (text: string) => void;
  /** Ends the streaming (the connection is destroyed). */
  signal?: AbortSignal;
}

export type StreamOutcome = 'done' | 'detached';

/** The socket's bytes, starting with those that came with the 101 answer. */
async function* received(socket: Socket, head: Buffer): AsyncGenerator<Buffer> {
  if (head.length > 0) yield head;
  for await (const chunk of socket as AsyncIterable<Buffer>) yield chunk;
}

function pumpInput(options: StreamOptions, socket: Socket, onDetach: () => void): { done: Promise<void>; stop: () => void } {
  const input = options.stdin;
  if (!input) {
    // Nothing to send: say so at once (docker closes the write side too).
    socket.end();
    return { done: Promise.resolve(), stop: () => {} };
  }
  let keys: Buffer = defaultDetachKeys;
  if (options.tty && options.detachKeys) {
    const parsed = parseDetachKeys(options.detachKeys);
    if (parsed) keys = parsed;
    else options.warn?.(`invalid detach escape keys, using default: Unknown character: '${options.detachKeys}'\n`);
  }
  const scanner = options.tty ? new DetachScanner(keys) : undefined;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  const onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const { pass, detached } = scanner ? scanner.scan(bytes) : { pass: bytes, detached: false };
    if (pass.length > 0 && !socket.destroyed && !socket.writableEnded) {
      if (!socket.write(pass)) {
        input.pause();
        socket.once('drain', () => input.resume());
      }
    }
    if (detached) {
      stop();
      onDetach();
    }
  };
  const onEnd = () => {
    stop();
    if (!socket.destroyed && !socket.writableEnded) socket.end();
    finish();
  };
  const stop = () => {
    input.off('data', onData);
    input.off('end', onEnd);
    input.off('error', onEnd);
    input.pause();
  };
  input.on('data', onData);
  input.once('end', onEnd);
  input.once('error', onEnd);
  input.resume();
  return { done, stop };
}

export async function streamAttached(options: StreamOptions): Promise<StreamOutcome> {
  const { socket, head } = options.connection;
  const restoreTerminal = options.tty && options.stdin ? await enterRawMode(options.stdin) : () => {};
  const hasOutput = options.stdout !== undefined || options.stderr !== undefined;
  let detach: () => void = () => {};
  const detached = new Promise<'detached'>((resolve) => (detach = () => resolve('detached')));
  const input = pumpInput(options, socket, () => detach());

  const output = (async (): Promise<'done'> => {
    if (!hasOutput) return 'done';
    try {
      if (options.tty) {
        for await (const chunk of received(socket, head)) if (options.stdout) await writeAll(options.stdout, chunk);
      } else {
        await demultiplex(received(socket, head), options.stdout, options.stderr);
      }
    } catch (err) {
      // The daemon closing or resetting the connection ends the output; anything else is an error.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ECONNRESET' && code !== 'EPIPE' && code !== 'ERR_STREAM_PREMATURE_CLOSE') throw err;
    } finally {
      // Restore as soon as the connection ends, so what is printed next looks normal.
      restoreTerminal();
    }
    return 'done';
  })();

  const aborted = new Promise<'done'>((resolve) => {
    if (!options.signal) return;
    if (options.signal.aborted) resolve('done');
    else options.signal.addEventListener('abort', () => resolve('done'), { once: true });
  });
  const inputOnly = input.done.then(() => (hasOutput ? output : 'done' as const));
  try {
    return await Promise.race([output, inputOnly, detached, aborted]);
  } finally {
    input.stop();
    restoreTerminal();
    // Detached or aborted: the output copy ends with the connection, and nobody waits for it.
    output.catch(() => {});
    socket.destroy();
  }
}
