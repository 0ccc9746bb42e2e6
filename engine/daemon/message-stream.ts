/**
 * A streamed answer of JSON progress messages (pull, push, load): `application/json`, chunked, one
 * message per line (`\r\n`, as dockerd). The status line goes out with the first message, so an
 * error before that is still a plain error answer with its status (dockerd's "not flushed yet");
 * an error after it is an error message line, which the docker CLI prints before exiting 1.
 */
import type { ServerResponse } from 'node:http';
import { errorMessage, type JSONMessage } from '../images/json-message.js';

export class MessageStream {
  private started = false;
  private readonly seen: JSONMessage[] = [];

  constructor(private readonly res: ServerResponse) {}

  get flushed(): boolean {
    return this.started;
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.statusCode = 200;
    this.res.setHeader('Content-Type', 'application/json');
    this.res.flushHeaders();
  }

  /** A sink to hand to pull / push: every message is sent and remembered. */
  readonly write = (message: JSONMessage): void => {
    this.start();
    // Progress rows are many and never asked about.
    if (message.progress === undefined && message.progressDetail?.current === undefined) this.seen.push(message);
    if (!this.res.destroyed) this.res.write(`${JSON.stringify(message)}\r\n`);
  };

  /** Has a message matching `test` gone out? (Lets the daemon add docker's closing lines only when the pipeline did not.) */
  sent(test: (m: JSONMessage) => boolean): boolean {
    return this.seen.some(test);
  }

  /** Report a failure: rethrown before the stream started, an error line after. */
  fail(err: unknown): void {
    if (!this.started) throw err;
    this.write(errorMessage(err));
  }

  end(): void {
    this.start();
    this.res.end();
  }
}
