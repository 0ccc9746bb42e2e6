/**
 * docker's multiplexed stream (attach, logs and exec of a container without a TTY): frames of an
 * 8-byte header `[stream, 0, 0, 0, size as uint32 big-endian]` and `size` bytes of payload.
 * Stream 1 is stdout, 2 stderr (0, stdin, is written to stdout as docker does), 3 is an error
 * the daemon reports in the middle of the stream.
 */
import type { Writable } from 'node:stream';
import { CliError } from '../cli-error.js';

const headerSize = 8;

/** Write and wait for the sink to take it (backpressure), so a slow terminal slows the copy. */
export async function writeAll(sink: Writable, chunk: Buffer): Promise<void> {
  if (chunk.length === 0) return;
  if (sink.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error) => {
      sink.off('drain', onDrain);
      sink.off('error', onError);
      sink.off('close', onDrain);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onError = (err: Error) => done(err);
    sink.once('drain', onDrain);
    sink.once('error', onError);
    sink.once('close', onDrain);
  });
}

/** Copy frames from `source` to `stdout` / `stderr` (a missing sink drops its frames). */
export async function demultiplex(source: AsyncIterable<Buffer>, stdout: Writable | undefined, stderr: Writable | undefined): Promise<void> {
  let pending: Buffer = Buffer.alloc(0);
  let stream = -1;
  let remaining = 0;
  for await (const chunk of source) {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    for (;;) {
      if (remaining === 0) {
        if (pending.length < headerSize) break;
        stream = pending[0]!;
        remaining = pending.readUInt32BE(4);
        pending = pending.subarray(headerSize);
        if (stream > 3) throw new CliError(`Unrecognized input header: ${stream}`);
        if (remaining === 0) continue;
      }
      if (pending.length === 0) break;
      if (stream === 3) {
        // The error's text is the whole frame: wait for all of it.
        if (pending.length < remaining) break;
        throw new CliError(`error from daemon in stream: ${pending.subarray(0, remaining).toString('utf8')}`);
      }
      const take = Math.min(remaining, pending.length);
      const payload = pending.subarray(0, take);
      pending = pending.subarray(take);
      remaining -= take;
      const sink = stream === 2 ? stderr : stdout;
      if (sink) await writeAll(sink, payload);
    }
  }
}
