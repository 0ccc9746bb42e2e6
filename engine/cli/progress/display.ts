/**
 * Render a stream of progress messages as the docker CLI does (jsonmessage).
 *
 * On a terminal each id (a layer) owns one row: a new id adds a row, later messages for it move
 * the cursor up to that row, erase it, rewrite it and move back down. A message without an id
 * or without progress is printed as a plain line and starts a new group of rows. Off a
 * terminal, progress updates are dropped and every other status becomes one line.
 * An error message ends the rendering with that error; aux messages go to a callback.
 */
import type { JSONMessage } from '../../images/json-message.js';
import { CliError } from '../cli-error.js';
import { progressText } from './progress-text.js';

export interface TextSink {
  write(text: string): unknown;
}

export interface DisplayOptions {
  isTerminal: boolean;
  /** The terminal's columns (the bar needs more than 110); read at each message. */
  terminalWidth?: () => number;
  onAux?: (message: JSONMessage) => void;
}

const eraseLine = '\x1b[2K';
const up = (n: number) => (n > 0 ? `\x1b[${n}A` : '');
const down = (n: number) => (n > 0 ? `\x1b[${n}B` : '');

/** The error a stream's error message stands for (401 is said the way docker says it). */
export function streamError(message: JSONMessage): CliError | undefined {
  const detail = message.errorDetail;
  if (detail === undefined && message.error === undefined) return undefined;
  if (detail?.code === 401) return new CliError('authentication is required');
  return new CliError(detail?.message ?? message.error ?? 'unknown error');
}

/** One message's text (docker's JSONMessage.Display); undefined when it prints nothing. */
export function messageText(message: JSONMessage, isTerminal: boolean, width: number): string | undefined {
  const progress = message.progressDetail;
  const shown = progress === undefined ? '' : progressText(progress, width);
  let text = '';
  let endl = '';
  if (isTerminal && !message.stream && progress !== undefined) {
    endl = '\r';
    text += `${eraseLine}${endl}`;
  } else if (progress !== undefined && shown !== '') {
    return undefined; // progress bars are for terminals only
  }
  if (message.id) text += `${message.id}: `;
  const status = message.status ?? '';
  if (progress !== undefined && isTerminal) text += `${status} ${shown}${endl}`;
  else if (message.progress) text += `${status} ${message.progress}${endl}`;
  else if (message.stream) text += `${message.stream}${endl}`;
  else text += `${status}${endl}\n`;
  return text;
}

export async function displayMessages(messages: AsyncIterable<JSONMessage>, out: TextSink, options: DisplayOptions): Promise<void> {
  const { isTerminal } = options;
  let rows = new Map<string, number>();
  for await (const message of messages) {
    if (message.aux !== undefined) {
      options.onAux?.(message);
      continue;
    }
    let distance = 0;
    let text = '';
    const hasProgress = message.progressDetail !== undefined || Boolean(message.progress);
    if (message.id && hasProgress) {
      let row = rows.get(message.id);
      if (row === undefined) {
        row = rows.size;
        rows.set(message.id, row);
        if (isTerminal) text += '\n';
      }
      distance = rows.size - row;
      if (isTerminal) text += up(distance);
    } else {
      // Rows of an earlier group (another tag of `pull -a`) are never updated again.
      rows = new Map();
    }
    const failure = streamError(message);
    if (failure) {
      if (text !== '') out.write(text + (message.id && isTerminal ? down(distance) : ''));
      throw failure;
    }
    text += messageText(message, isTerminal, options.terminalWidth?.() ?? 0) ?? '';
    if (message.id && isTerminal) text += down(distance);
    if (text !== '') out.write(text);
  }
}
