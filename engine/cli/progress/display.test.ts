import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JSONMessage } from '../../images/json-message.js';
import { CliError } from '../cli-error.js';
import { displayMessages, type DisplayOptions } from './display.js';
import { jsonMessages } from './json-stream.js';
import { progressText } from './progress-text.js';

async function* feed(messages: JSONMessage[]): AsyncGenerator<JSONMessage> {
  yield* messages;
}

async function render(messages: JSONMessage[], options: DisplayOptions): Promise<{ text: string; error?: Error }> {
  let text = '';
  try {
    await displayMessages(feed(messages), { write: (s: string) => (text += s) }, options);
    return { text };
  } catch (err) {
    return { text, error: err as Error };
  }
}

/** A tiny terminal: cursor up/down, erase line, carriage return, newline; the rows it ends with. */
function screen(text: string): string[] {
  const rows: string[] = [''];
  let row = 0;
  let col = 0;
  const put = (ch: string) => {
    const line = rows[row]!.padEnd(col, ' ');
    rows[row] = line.slice(0, col) + ch + line.slice(col + 1);
    col++;
  };
  for (let i = 0; i < text.length; i++) {
    const esc = /^\x1b\[(\d*)([ABK])/.exec(text.slice(i));
    if (esc) {
      const n = Number(esc[1] || '1');
      if (esc[2] === 'A') row = Math.max(0, row - n);
      else if (esc[2] === 'B') row += n;
      else rows[row] = '';
      while (rows.length <= row) rows.push('');
      i += esc[0].length - 1;
      continue;
    }
    const ch = text[i]!;
    if (ch === '\r') col = 0;
    else if (ch === '\n') {
      row++;
      col = 0;
      while (rows.length <= row) rows.push('');
    } else put(ch);
  }
  return rows.map((r) => r.trimEnd());
}

const pullMessages: JSONMessage[] = [
  { status: 'Pulling from x/a', id: 'v1' },
  { status: 'Pulling fs layer', progressDetail: {}, id: 'aaaaaaaaaaaa' },
  { status: 'Pulling fs layer', progressDetail: {}, id: 'bbbbbbbbbbbb' },
  { status: 'Downloading', progressDetail: { current: 36394, total: 600828 }, progress: '[===>   ]  36.39kB/600.8kB', id: 'bbbbbbbbbbbb' },
  { status: 'Downloading', progressDetail: { current: 300000, total: 600836 }, id: 'aaaaaaaaaaaa' },
  { status: 'Download complete', progressDetail: {}, id: 'bbbbbbbbbbbb' },
  { status: 'Pull complete', progressDetail: {}, id: 'bbbbbbbbbbbb' },
  { status: 'Digest: sha256:9ac8' },
  { status: 'Status: Downloaded newer image for 127.0.0.1:5000/x/a:v1' },
];

test('terminal: a row per layer, updated in place with the escape sequences docker writes', async () => {
  const { text, error } = await render(pullMessages, { isTerminal: true, terminalWidth: () => 120 });
  assert.equal(error, undefined);
  const bar = (half: number) => `[${'='.repeat(half)}>${' '.repeat(50 - half)}] `;
  assert.equal(
    text,
    [
      'v1: Pulling from x/a\n',
      '\n\x1b[1A\x1b[2K\raaaaaaaaaaaa: Pulling fs layer \r\x1b[1B',
      '\n\x1b[1A\x1b[2K\rbbbbbbbbbbbb: Pulling fs layer \r\x1b[1B',
      `\x1b[1A\x1b[2K\rbbbbbbbbbbbb: Downloading ${bar(3)} 36.39kB/600.8kB\r\x1b[1B`,
      `\x1b[2A\x1b[2K\raaaaaaaaaaaa: Downloading ${bar(24)}   300kB/600.8kB\r\x1b[2B`,
      '\x1b[1A\x1b[2K\rbbbbbbbbbbbb: Download complete \r\x1b[1B',
      '\x1b[1A\x1b[2K\rbbbbbbbbbbbb: Pull complete \r\x1b[1B',
      'Digest: sha256:9ac8\n',
      'Status: Downloaded newer image for 127.0.0.1:5000/x/a:v1\n',
    ].join(''),
  );
  assert.deepEqual(screen(text), [
    'v1: Pulling from x/a',
    `aaaaaaaaaaaa: Downloading ${bar(24)}   300kB/600.8kB`,
    'bbbbbbbbbbbb: Pull complete',
    'Digest: sha256:9ac8',
    'Status: Downloaded newer image for 127.0.0.1:5000/x/a:v1',
    '',
  ]);
});

test('terminal narrower than 111 columns: counters without the bar', async () => {
  const { text } = await render(pullMessages.slice(0, 4), { isTerminal: true, terminalWidth: () => 80 });
  assert.ok(text.endsWith('\x1b[1A\x1b[2K\rbbbbbbbbbbbb: Downloading  36.39kB/600.8kB\r\x1b[1B'), JSON.stringify(text));
});

test('not a terminal: every status is a line, progress updates are left out', async () => {
  const { text } = await render(pullMessages, { isTerminal: false });
  assert.equal(
    text,
    'v1: Pulling from x/a\naaaaaaaaaaaa: Pulling fs layer\nbbbbbbbbbbbb: Pulling fs layer\nbbbbbbbbbbbb: Download complete\nbbbbbbbbbbbb: Pull complete\nDigest: sha256:9ac8\nStatus: Downloaded newer image for 127.0.0.1:5000/x/a:v1\n',
  );
  const streamed = await render([{ stream: 'Loaded image: a:1\n' }, { stream: 'Loaded image: b:2\n' }], { isTerminal: false });
  assert.equal(streamed.text, 'Loaded image: a:1\nLoaded image: b:2\n');
});

test('a line without progress starts a new group of rows (pull -a, a second tag)', async () => {
  const { text } = await render(
    [
      { status: 'Pulling fs layer', progressDetail: {}, id: 'aaaaaaaaaaaa' },
      { status: 'Pulling from x/a', id: 'v2' },
      { status: 'Already exists', progressDetail: {}, id: 'aaaaaaaaaaaa' },
    ],
    { isTerminal: true, terminalWidth: () => 200 },
  );
  // The first row takes the line the cursor is on; the next group starts below the last row.
  assert.deepEqual(screen(text), ['aaaaaaaaaaaa: Pulling fs layer', 'v2: Pulling from x/a', 'aaaaaaaaaaaa: Already exists', '']);
});

test('an error message ends the rendering with that error; 401 is "authentication is required"; aux goes to the callback', async () => {
  const aux: JSONMessage[] = [];
  const failed = await render(
    [
      { status: 'Preparing', progressDetail: {}, id: 'cccccccccccc' },
      { aux: { Tag: 'v1', Digest: 'sha256:00', Size: 5 } },
      { errorDetail: { message: 'no basic auth credentials' }, error: 'no basic auth credentials' },
      { status: 'never shown' },
    ],
    { isTerminal: false, onAux: (m) => aux.push(m) },
  );
  assert.ok(failed.error instanceof CliError);
  assert.equal(failed.error.message, 'no basic auth credentials');
  assert.equal(failed.text, 'cccccccccccc: Preparing\n');
  assert.deepEqual(aux, [{ aux: { Tag: 'v1', Digest: 'sha256:00', Size: 5 } }]);
  const unauthorized = await render([{ errorDetail: { code: 401, message: 'unauthorized: x' } }], { isTerminal: true });
  assert.equal(unauthorized.error?.message, 'authentication is required');
});

test('progress text: docker\'s bar, counters and overflow', () => {
  assert.equal(progressText({}, 200), '');
  assert.equal(progressText({ current: 0, total: 10 }, 200), `[>${' '.repeat(50)}]       0B/10B`);
  assert.equal(progressText({ current: 1234567 }, 200), ' 1.235MB');
  assert.equal(progressText({ current: 600828, total: 600828 }, 200), `[${'='.repeat(50)}>]  600.8kB/600.8kB`);
  assert.equal(progressText({ current: 700, total: 600 }, 200), `[${'='.repeat(50)}>]     700B`);
});

test('the stream decoder: objects split anywhere, CRLF or nothing between them, strings with braces', async () => {
  const text = '{"status":"a {"}\r\n{"status":"b\\"}","id":"x"}{"stream":"c\\n"}\n';
  const chunks: string[] = [];
  for (let i = 0; i < text.length; i += 3) chunks.push(text.slice(i, i + 3));
  async function* source() {
    for (const c of chunks) yield Buffer.from(c);
  }
  const seen: JSONMessage[] = [];
  for await (const m of jsonMessages(source())) seen.push(m);
  assert.deepEqual(seen, [{ status: 'a {' }, { status: 'b"}', id: 'x' }, { stream: 'c\n' }]);
  async function* cut() {
    yield '{"status":"half';
  }
  await assert.rejects(async () => {
    for await (const _ of jsonMessages(cut())) void _;
  }, /ended in the middle of a message/);
  async function* junk() {
    yield 'not json';
  }
  await assert.rejects(async () => {
    for await (const _ of jsonMessages(junk())) void _;
  }, /malformed progress stream/);
});
