/**
 * The local terminal while a container's TTY is attached: raw mode on stdin (restored once, on
 * every way out), the size of stdout, and resizing the remote TTY now and on each SIGWINCH.
 */
import type { Readable, Writable } from 'node:stream';
import { disableOutputProcessing } from './raw-output.js';

export type TerminalInput = Readable & { isTTY?: boolean; fd?: number; setRawMode?: (raw: boolean) => unknown };
export type TerminalOutput = Writable & { isTTY?: boolean; columns?: number; rows?: number; getWindowSize?: () => [number, number] };

/**
 * Put `input` in raw mode when it is a terminal, output processing off too (as docker's raw
 * mode); the returned function restores it (idempotent).
 */
export async function enterRawMode(input: TerminalInput): Promise<() => void> {
  if (!input.isTTY || typeof input.setRawMode !== 'function') return () => {};
  input.setRawMode(true);
  await disableOutputProcessing(input.fd ?? 0).catch(() => {});
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    try {
      input.setRawMode?.(false);
    } catch {
      /* the terminal is gone */
    }
  };
  process.once('exit', restore);
  return () => {
    process.off('exit', restore);
    restore();
  };
}

/** Rows and columns of `output` (0, 0 when it is not a terminal). */
export function terminalSize(output: TerminalOutput): { height: number; width: number } {
  if (!output.isTTY) return { height: 0, width: 0 };
  if (typeof output.getWindowSize === 'function') {
    try {
      const [width, height] = output.getWindowSize();
      return { height, width };
    } catch {
      /* fall back to the cached values */
    }
  }
  return { height: output.rows ?? 0, width: output.columns ?? 0 };
}

export type Resize = (size: { height: number; width: number }) => Promise<void>;

/**
 * Resize now (retried a few times, as the process may not have its TTY yet) and on each SIGWINCH;
 * returns the function that stops watching. docker says once that it gave up and goes on.
 */
export function monitorTerminalSize(size: () => { height: number; width: number }, resize: Resize, warn: (text: string) => void): () => void {
  let stopped = false;
  const apply = async () => {
    const s = size();
    if (s.height === 0 && s.width === 0) return;
    await resize(s);
  };
  void (async () => {
    for (let attempt = 0; attempt <= 10 && !stopped; attempt++) {
      try {
        await apply();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, (attempt + 1) * 10));
      }
    }
    if (!stopped) warn('failed to resize tty, using default size\n');
  })();
  // One resize at a time, each reading the size when it runs: `stty rows 40 cols 120` signals
  // twice, and two requests in flight could land in the wrong order (40x100 last).
  let queue: Promise<void> = Promise.resolve();
  const onWinch = () => {
    queue = queue.then(apply).catch(() => {});
  };
  process.on('SIGWINCH', onWinch);
  return () => {
    stopped = true;
    process.off('SIGWINCH', onWinch);
  };
}
