/**
 * A pool of warm shims: `node shim.js --warm` processes whose pid/uts/ipc namespaces exist and
 * whose init has loaded and waits for a request, so that `start` skips two Node start-ups (the
 * bulk of a cold start). The daemon owns the pool; a warm shim that is never claimed exits when
 * the pool's end of its channel closes (the daemon stopped or died), and its init with it.
 * Claimed shims are independent of the pool, like cold ones.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { BACKGROUND_NICE, setSessionNice } from './autogroup.js';

const SHIM_SCRIPT = fileURLToPath(new URL('./shim.js', import.meta.url));
/** The latest a taken shim is replaced (see take()). */
const REFILL_AFTER_MS = 1000;

export interface WarmShim {
  child: ChildProcess;
  /** The shim's fd 3: the claim goes in, the start report comes out. */
  channel: Socket;
}

interface Entry extends WarmShim {
  ready: Promise<void>;
}

export class WarmPool {
  private readonly idle: Entry[] = [];
  private closed = false;

  constructor(readonly size = 2) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`warm pool size must be a positive integer, got ${size}`);
  }

  /** Spawn shims until `size` are waiting. */
  fill(): void {
    while (!this.closed && this.idle.length < this.size) this.idle.push(this.spawnOne());
  }

  /** Resolves when every waiting shim has its init loaded. */
  async ready(): Promise<void> {
    this.fill();
    const waiting = [...this.idle];
    for (const e of waiting) e.channel.ref(); // keep the caller's loop alive while it waits
    try {
      await Promise.all(waiting.map((e) => e.ready));
    } finally {
      for (const e of waiting) e.channel.unref();
    }
  }

  get waiting(): number {
    return this.idle.length;
  }

  /**
   * A warm shim to claim, or undefined if none is left. The pool refills in the background once
   * the claimed shim has reported (its channel closes: start() closes it on the report) or after
   * a second: the refill's two Node start-ups then do not compete for the CPU with the container
   * being started.
   */
  take(): WarmShim | undefined {
    const e = this.idle.shift();
    if (!e) return undefined;
    const refill = (): void => {
      clearTimeout(timer);
      this.fill();
    };
    const timer = setTimeout(refill, REFILL_AFTER_MS).unref();
    e.channel.once('close', refill);
    e.channel.removeAllListeners('data');
    e.child.removeAllListeners('exit');
    e.channel.ref(); // the claimer waits on it
    return { child: e.child, channel: e.channel };
  }

  /** Stop the waiting shims (their inits exit when the shims' pipes close). */
  async close(): Promise<void> {
    this.closed = true;
    const all = this.idle.splice(0);
    await Promise.all(
      all.map(
        (e) =>
          new Promise<void>((resolve) => {
            if (e.child.exitCode !== null || e.child.signalCode !== null) return resolve();
            e.child.once('exit', () => resolve());
            e.child.ref(); // wait for the exit event
            e.channel.destroy();
            if (e.child.pid !== undefined) {
              try {
                process.kill(e.child.pid, 'SIGKILL');
              } catch {
                resolve();
              }
            }
          }),
      ),
    );
  }

  private spawnOne(): Entry {
    const child = spawn(process.execPath, [SHIM_SCRIPT, '--warm'], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'pipe'], env: {} });
    const channel = child.stdio[3] as Socket;
    channel.on('error', () => {});
    // Background work until claimed: containers being started (cold or warm) come first.
    if (child.pid !== undefined) setSessionNice(child.pid, BACKGROUND_NICE);
    // Neither keeps the daemon's event loop alive.
    child.unref();
    channel.unref();
    let text = '';
    const ready = new Promise<void>((resolve) => {
      channel.on('data', (d: Buffer) => {
        text += d.toString('utf8');
        if (text.includes('"warm"')) resolve();
      });
      child.once('exit', () => resolve());
    });
    const entry: Entry = { child, channel, ready };
    child.once('exit', () => {
      const i = this.idle.indexOf(entry);
      if (i >= 0) this.idle.splice(i, 1);
    });
    return entry;
  }
}
