/**
 * The processes a shim starts: the container's init (spawned before its request is known, which
 * is what makes warm shims possible) and exec processes, their stdio (real pipes or a pty of the
 * container's own devpts), the request on their fd 4, and what they report on fd 3.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { ReadStream as TtyStream } from 'node:tty';
import { STDERR, STDOUT, type FrameType } from './frames.js';
import { INIT_SCRIPT, spawnInit, type Spawned } from './init-spawn.js';
import type { ContainerInitRequest, ExecInitRequest, InitFailure, InitRequest } from './protocol.js';
import * as sys from './sys-runtime.js';

/** A program started by the shim (the init or an exec process) and its stdio. */
export interface Started {
  child: ChildProcess;
  /** Where the client's stdin goes (undefined: the process has no stdin from us). */
  stdin?: Writable;
  /** The pty master, for resizing. */
  master?: number;
  outputs: Array<{ stream: Readable; type: FrameType }>;
  /** Container init with a TTY: open the terminal when the init asks for it. */
  onPtyRequest?: () => void;
}

export interface StartOptions {
  tty: boolean;
  stdin: boolean;
  consoleSize?: { rows: number; cols: number };
}

export function startContainer(init: Spawned, request: ContainerInitRequest, opts: StartOptions, onTerminal: (started: Started) => void): Started {
  const child = init.child;
  const started: Started = { child, outputs: [] };
  if (opts.tty) {
    started.onPtyRequest = () => {
      const pipe = child.stdio[4] as Writable;
      try {
        const { master, index } = sys.openPtyAt(`/proc/${child.pid}/root/dev/pts/ptmx`);
        if (opts.consoleSize) sys.setWindowSize(master, opts.consoleSize);
        useTerminal(started, master, opts.stdin);
        onTerminal(started);
        pipe.end(`${JSON.stringify({ pty: index })}\n`);
      } catch (err) {
        pipe.end(`${JSON.stringify({ error: (err as Error).message })}\n`);
      }
    };
    init.stdin.end();
    init.stdout.destroy();
    init.stderr.destroy();
    sendRequest(child, request, false);
    return started;
  }
  started.outputs.push({ stream: init.stdout, type: STDOUT }, { stream: init.stderr, type: STDERR });
  if (opts.stdin) started.stdin = init.stdin;
  else init.stdin.end(); // the init puts the container's /dev/null on fd 0
  onTerminal(started);
  sendRequest(child, request, true);
  return started;
}

/** An exec process: a pty of the container's devpts up front, or pipes. */
export function startExecProcess(request: ExecInitRequest, opts: StartOptions): Started {
  if (opts.tty) {
    const { master } = sys.openPtyAt(`/proc/${request.targetPid}/root/dev/pts/ptmx`);
    let child: ChildProcess;
    try {
      if (opts.consoleSize) sys.setWindowSize(master, opts.consoleSize);
      const slave = sys.openPtyPeer(master);
      try {
        child = spawn(process.execPath, [INIT_SCRIPT], { stdio: [slave, slave, slave, 'pipe', 'pipe'], detached: true, env: {} });
      } finally {
        sys.close(slave);
      }
    } catch (err) {
      sys.close(master);
      throw err;
    }
    const started: Started = { child, master, outputs: [] };
    useTerminal(started, master, opts.stdin);
    sendRequest(child, request, true);
    return started;
  }
  const p = spawnInit(false);
  const started: Started = { child: p.child, outputs: [{ stream: p.stdout, type: STDOUT }, { stream: p.stderr, type: STDERR }] };
  if (opts.stdin) started.stdin = p.stdin;
  else p.stdin.end();
  sendRequest(p.child, request, true);
  return started;
}

function useTerminal(started: Started, master: number, stdin: boolean): void {
  const term = new TtyStream(master);
  started.master = master;
  started.outputs.push({ stream: term, type: STDOUT });
  if (stdin) started.stdin = term;
}

function sendRequest(child: ChildProcess, request: InitRequest, end: boolean): void {
  const pipe = child.stdio[4] as Writable | null;
  pipe?.on('error', () => {});
  const line = `${JSON.stringify(request)}\n`;
  if (end) pipe?.end(line);
  else pipe?.write(line);
}

/**
 * Reads the init's lines on fd 3: a terminal request is served at once; resolves with the
 * failure it reports, or undefined when execve closed the pipe with no failure written.
 */
export function execOutcome(started: Started): Promise<InitFailure | undefined> {
  const child = started.child;
  return new Promise((resolve) => {
    const pipe = child.stdio[3] as Readable | null;
    let text = '';
    let failure: InitFailure | undefined;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      if (text.trim()) failure = { message: text.trim(), exitCode: 128 };
      resolve(failure);
    };
    child.once('error', (err) => {
      if (done) return;
      done = true;
      resolve({ message: err.message, exitCode: 128 });
    });
    if (!pipe) return finish();
    pipe.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
        const line = text.slice(0, nl);
        text = text.slice(nl + 1);
        let msg: { pty?: boolean; message?: string; exitCode?: number };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          failure = { message: line, exitCode: 128 };
          continue;
        }
        if (msg.pty) started.onPtyRequest?.();
        else if ((msg as { ready?: boolean }).ready) continue;
        else failure = { message: msg.message ?? line, exitCode: msg.exitCode ?? 128 };
      }
    });
    pipe.on('error', finish);
    pipe.on('end', finish);
    pipe.on('close', finish);
    pipe.resume();
  });
}

/** Resolves when every output stream has ended (a pty master ends with EIO) or after `ms`. */
export function drained(outputs: Started['outputs'], ms: number): Promise<void> {
  const ends = outputs.map(
    ({ stream }) =>
      new Promise<void>((resolve) => {
        if (stream.readableEnded || stream.destroyed) return resolve();
        stream.once('end', resolve);
        stream.once('close', resolve);
        stream.once('error', () => resolve());
      }),
  );
  return Promise.race([Promise.all(ends).then(() => undefined), new Promise<void>((r) => setTimeout(r, ms).unref())]);
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return 128 + (signal ? (osConstants.signals[signal] ?? 0) : 0);
}

export function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(exitCodeOf(child.exitCode, child.signalCode));
    child.once('exit', (code, signal) => resolve(exitCodeOf(code, signal)));
    child.once('error', () => resolve(128));
  });
}
