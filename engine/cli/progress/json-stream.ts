/**
 * The daemon's progress stream: JSON objects one after another (dockerd ends each with CRLF,
 * Go's decoder accepts any whitespace or none). Yields each object as it is complete.
 */
import type { JSONMessage } from '../../images/json-message.js';
import { CliError } from '../cli-error.js';

const maxMessage = 16 * 1024 * 1024;

export async function* jsonMessages(source: AsyncIterable<Buffer | string>): AsyncGenerator<JSONMessage> {
  let pending = '';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let start = -1;
  for await (const chunk of source) {
    const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    const offset = pending.length;
    pending += text;
    let consumed = 0;
    for (let i = offset; i < pending.length; i++) {
      const ch = pending[i]!;
      if (inString) {
        if (escaped) escaped = false;
        else if (ch === '\\') escaped = true;
        else if (ch === '"') inString = false;
        continue;
      }
      if (ch === '"') inString = true;
      else if (ch === '{' || ch === '[') {
        if (depth === 0) start = i;
        depth++;
      } else if (ch === '}' || ch === ']') {
        depth--;
        if (depth === 0) {
          yield parse(pending.slice(start, i + 1));
          consumed = i + 1;
        } else if (depth < 0) {
          throw new CliError(`the daemon sent a malformed progress stream near ${JSON.stringify(pending.slice(Math.max(0, i - 40), i + 1))}`);
        }
      } else if (depth === 0 && !/\s/.test(ch)) {
        throw new CliError(`the daemon sent a malformed progress stream near ${JSON.stringify(pending.slice(Math.max(0, i - 40), i + 1))}`);
      }
    }
    pending = pending.slice(consumed);
    if (depth > 0) start -= consumed;
    if (pending.length > maxMessage) throw new CliError('the daemon sent a progress message larger than 16 MiB');
  }
  if (depth !== 0 || pending.trim() !== '') throw new CliError('the progress stream from the daemon ended in the middle of a message');
}

function parse(text: string): JSONMessage {
  try {
    const value = JSON.parse(text) as unknown;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as JSONMessage;
  } catch (err) {
    throw new CliError(`the daemon sent a progress message that is not a JSON object: ${(err as Error).message}`);
  }
}
