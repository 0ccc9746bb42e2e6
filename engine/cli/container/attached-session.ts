/**
 * What `run` and `start -a` do around an attached container, in docker's order: proxy signals,
 * attach (hijacked), wait for the exit (or the removal of an --rm container), start, keep the
 * remote TTY the size of the local one, then stream until the output ends or the user detaches,
 * and give the container's exit status.
 */
import type { CliContext } from '../context.js';
import { streamAttached } from './attach-streams.js';
import { attachContainer, resizeTty, startContainer, type AttachStreams } from './container-api.js';
import { countTerminations, proxySignals } from './signal-proxy.js';
import { monitorTerminalSize, terminalSize } from './terminal.js';
import { waitExitOrRemoved } from './wait-exit.js';

export interface SessionOptions {
  id: string;
  tty: boolean;
  streams: AttachStreams;
  detachKeys?: string;
  autoRemove: boolean;
  sigProxy: boolean;
}

export type SessionEnd = { kind: 'detached' } | { kind: 'exited'; status: number } | { kind: 'input-done' };

/** Thrown when the start failed: the daemon's error, after the stream and the removal ended. */
export class StartFailed extends Error {
  constructor(readonly error: unknown) {
    super(error instanceof Error ? error.message : String(error));
  }
}

export async function attachedSession(ctx: CliContext, options: SessionOptions): Promise<SessionEnd> {
  const { id, streams } = options;
  const stopSignals = options.sigProxy ? proxySignals(ctx, id) : countTerminations(ctx);
  try {
    const controller = new AbortController();
    let streaming: Promise<'done' | 'detached'> | undefined;
    if (streams.stdin || streams.stdout || streams.stderr) {
      const connection = await attachContainer(ctx, id, streams, options.detachKeys);
      streaming = streamAttached({
        connection,
        tty: options.tty,
        stdin: streams.stdin ? ctx.stdin : undefined,
        stdout: streams.stdout ? ctx.stdout : undefined,
        // With a TTY there is one stream: what the container writes to stderr comes on it.
        stderr: streams.stderr ? (options.tty ? ctx.stdout : ctx.stderr) : undefined,
        detachKeys: options.detachKeys,
        warn: (text) => ctx.err(text),
        signal: controller.signal,
      });
    }
    const wait = await waitExitOrRemoved(ctx, id, options.autoRemove);
    try {
      await startContainer(ctx, id);
    } catch (err) {
      controller.abort();
      await streaming?.catch(() => {});
      if (options.autoRemove) await wait.status;
      else wait.cancel();
      throw new StartFailed(err);
    }
    let stopResize = () => {};
    if (streaming && options.tty && ctx.stdoutIsTerminal) {
      stopResize = monitorTerminalSize(() => terminalSize(ctx.stdout), (size) => resizeTty(ctx, { container: id }, size), (text) => ctx.err(text));
    }
    try {
      if (streaming && (await streaming) === 'detached') {
        wait.cancel();
        return { kind: 'detached' };
      }
    } finally {
      stopResize();
    }
    if (!streams.stdout && !streams.stderr) {
      wait.cancel();
      return { kind: 'input-done' };
    }
    return { kind: 'exited', status: await wait.status };
  } finally {
    stopSignals();
  }
}
