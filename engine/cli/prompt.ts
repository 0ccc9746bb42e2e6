/**
 * Questions on the terminal: docker's `[y/N]` confirmation (read from stdin even when it is not
 * a terminal: EOF or anything but y/yes is no) and the username/password prompts of login.
 */
import type { Readable } from 'node:stream';
import type { CliContext } from './context.js';

/** One line from stdin (without its end), or undefined at EOF; reads no further than needed. */
export async function readLine(input: Readable): Promise<string | undefined> {
  let line = '';
  for (;;) {
    const chunk = input.read(1) as Buffer | string | null;
    if (chunk === null) {
      if (input.readableEnded || input.destroyed) return line === '' ? undefined : line;
      const more = await new Promise<boolean>((resolve) => {
        const onReadable = () => done(true);
        const onEnd = () => done(false);
        const done = (v: boolean) => {
          input.off('readable', onReadable);
          input.off('end', onEnd);
          input.off('close', onEnd);
          resolve(v);
        };
        input.once('readable', onReadable);
        input.once('end', onEnd);
        input.once('close', onEnd);
      });
      if (!more && input.readableLength === 0) return line === '' ? undefined : line;
      continue;
    }
    const ch = chunk.toString();
    if (ch === '\n') return line.replace(/\r$/, '');
    line += ch;
  }
}

export async function confirm(ctx: CliContext, question: string): Promise<boolean> {
  ctx.out(`${question} [y/N] `);
  const answer = (await readLine(ctx.stdin))?.trim().toLowerCase();
  return answer === 'y' || answer === 'yes';
}

/** Read a secret from a terminal without echoing it. */
export async function readSecret(ctx: CliContext, question: string): Promise<string> {
  ctx.out(question);
  const stdin = ctx.stdin as Readable & { setRawMode?: (raw: boolean) => unknown };
  // Echo off through raw mode; backspace and the end of the line are handled here.
  stdin.setRawMode?.(true);
  let secret = '';
  try {
    for (;;) {
      const chunk = stdin.read(1) as Buffer | null;
      if (chunk === null) {
        await new Promise((resolve) => stdin.once('readable', resolve));
        continue;
      }
      const ch = chunk.toString('utf8');
      if (ch === '\r' || ch === '\n') break;
      if (ch === '\u0003') throw new Error('interrupted');
      if (ch === '\u007f' || ch === '\b') secret = secret.slice(0, -1);
      else secret += ch;
    }
  } finally {
    stdin.setRawMode?.(false);
    ctx.out('\n');
  }
  return secret;
}
