/**
 * Warm network namespaces. Creating one costs a Node child's start-up (100-250 ms here), which a
 * container start should not wait for: the pool keeps `size` fresh namespaces (only `lo`, up, never
 * used) as files under its directory, made in the background by one child per refill. Taking one
 * is a bind mount of the pool file on the container's file and the removal of the pool file:
 * two syscalls. The pool's files are dropped on open and close (a reboot would leave them as
 * plain files anyway).
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNetnsFiles, removeNetnsFile } from './netns.js';
import { MS_BIND, mount } from './native.js';

export class NetnsPool {
  private readonly ready: string[] = [];
  private refilling: Promise<void> | undefined;
  private seq = 0;
  private closed = false;
  /** The last refill error (the pool stays empty and callers create namespaces themselves). */
  lastError: Error | undefined;

  constructor(
    readonly dir: string,
    readonly size: number,
  ) {}

  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (const f of await readdir(this.dir)) await removeNetnsFile(join(this.dir, f));
    this.refill();
  }

  get available(): number {
    return this.ready.length;
  }

  /** Wait for a refill in progress (tests, measurements). */
  async settled(): Promise<void> {
    while (this.refilling) await this.refilling;
  }

  /**
   * Make `target` (which must not exist) a warm namespace; false when the pool is empty (the
   * caller creates one itself). Starts a refill either way.
   */
  async take(target: string): Promise<boolean> {
    const source = this.ready.shift();
    this.refill();
    if (source === undefined) return false;
    await writeFile(target, '', { flag: 'wx', mode: 0o444 });
    try {
      mount(source, target, null, MS_BIND, null);
    } catch (err) {
      await removeNetnsFile(target);
      await removeNetnsFile(source);
      throw err;
    }
    await removeNetnsFile(source);
    return true;
  }

  private refill(): void {
    if (this.refilling || this.closed || this.ready.length >= this.size) return;
    const want = Array.from({ length: this.size - this.ready.length }, () => join(this.dir, `warm-${process.pid}-${++this.seq}`));
    this.refilling = createNetnsFiles(want)
      .then(
        () => {
          this.ready.push(...want);
          this.lastError = undefined;
        },
        (err: Error) => {
          this.lastError = err;
        },
      )
      .finally(() => {
        this.refilling = undefined;
        // A take() during this refill left a gap: fill it (unless the refill itself failed).
        if (this.lastError === undefined) this.refill();
      });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.settled();
    for (const f of this.ready.splice(0)) await removeNetnsFile(f);
  }
}
