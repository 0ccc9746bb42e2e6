/** Render a daemon response's progress stream on the command's stdout (or nowhere, for -q). */
import type { IncomingMessage } from 'node:http';
import type { JSONMessage } from '../../images/json-message.js';
import type { CliContext } from '../context.js';
import { displayMessages } from './display.js';
import { jsonMessages } from './json-stream.js';

export async function showProgress(ctx: CliContext, response: IncomingMessage, options: { quiet?: boolean; onAux?: (m: JSONMessage) => void } = {}): Promise<void> {
  const sink = options.quiet ? { write: () => undefined } : { write: (text: string) => ctx.out(text) };
  await displayMessages(jsonMessages(response), sink, {
    isTerminal: ctx.stdoutIsTerminal,
    terminalWidth: () => ctx.terminalWidth(),
    onAux: options.onAux,
  });
}
