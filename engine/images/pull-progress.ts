/**
 * The progress messages of a pull, as dockerd writes them: a header line per pull, then per layer
 * (id = the blob digest's 12 hex) `Pulling fs layer`, `Waiting`, `Downloading` with a bar,
 * `Verifying Checksum`, `Download complete`, `Extracting` with a bar, `Pull complete` (or
 * `Already exists`), then `Digest:` and `Status:`. Bars are throttled per layer so a fast pull
 * does not flood the stream; the last value (100%) is always sent.
 */
import { progressMessage, shortId, type JSONMessage, type MessageSink } from './json-message.js';

/** Least time between two bars of the same layer and kind. */
export const progressInterval = 100;

export class PullProgress {
  private readonly lastBar = new Map<string, { at: number; current: number }>();

  constructor(
    private readonly sink: MessageSink | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  private emit(message: JSONMessage): void {
    if (!this.sink) return;
    try {
      this.sink(message);
    } catch {
      // A consumer that throws (a closed connection) must not break the pull other callers share.
    }
  }

  /** `{"status":"Pulling from library/debian","id":"latest"}` */
  header(repositoryPath: string, tagOrReference: string): void {
    this.emit({ status: `Pulling from ${repositoryPath}`, id: tagOrReference });
  }

  /** A status line for a layer: `{"status":"Pulling fs layer","progressDetail":{},"id":"..."}`. */
  layer(digest: string, status: LayerStatus): void {
    this.emit({ status, progressDetail: {}, id: shortId(digest) });
  }

  /** A throttled bar (`Downloading` / `Extracting`); `force` sends it regardless (the final one). */
  bar(digest: string, status: 'Downloading' | 'Extracting', current: number, total: number, force = false): void {
    const key = `${status}\n${digest}`;
    const t = this.now();
    const last = this.lastBar.get(key);
    if (last !== undefined && last.current === current) return;
    if (!force && last !== undefined && t - last.at < progressInterval && current < total) return;
    this.lastBar.set(key, { at: t, current });
    this.emit(progressMessage(shortId(digest), status, current, total));
  }

  /** A line with only a status (`Digest: sha256:...`, `Status: ...`). */
  status(text: string): void {
    this.emit({ status: text });
  }
}

export type LayerStatus = 'Pulling fs layer' | 'Waiting' | 'Verifying Checksum' | 'Download complete' | 'Pull complete' | 'Already exists';
