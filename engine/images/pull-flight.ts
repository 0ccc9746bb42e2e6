/**
 * Work several callers share (one download per blob, one unpack per chain ID): each caller joins
 * with its own AbortSignal. A caller that aborts stops waiting at once, unless it is the last one
 * interested: then it cancels the work and waits for it to wind down (partial files and active
 * snapshots removed) before it rejects, so nothing of it runs on after that caller returns.
 */
export interface SharedWork<T> {
  work: Promise<T>;
  controller: AbortController;
  interested: number;
}

export function joinShared<T>(flight: SharedWork<T>, signal?: AbortSignal, onLeave?: () => void): Promise<T> {
  flight.interested++;
  return new Promise<T>((resolve, reject) => {
    let left = false;
    const leave = (): boolean => {
      if (left) return false;
      left = true;
      signal?.removeEventListener('abort', onAbort);
      flight.interested--;
      onLeave?.();
      return true;
    };
    function onAbort(): void {
      if (!leave()) return;
      const reason: unknown = signal!.reason;
      if (flight.interested > 0) {
        reject(reason);
        return;
      }
      flight.controller.abort(reason);
      flight.work.then(
        () => reject(reason),
        () => reject(reason),
      );
    }
    flight.work.then(
      (value) => {
        if (leave()) resolve(value);
      },
      (err: unknown) => {
        if (leave()) reject(err);
      },
    );
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}
