/**
 * `--sig-proxy`: signals the CLI receives go to the container (POST /containers/{id}/kill?signal=)
 * instead of ending the CLI, as docker forwards them. As in docker, the third SIGINT/SIGTERM ends
 * the CLI anyway ("got 3 SIGTERM/SIGINTs, forcefully exiting", status 1).
 */
import type { CliContext } from '../context.js';

/** What Node lets a process catch, minus SIGCHLD/SIGPIPE (never forwarded) and SIGWINCH (resizes). */
const forwarded: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGCONT', 'SIGVTALRM', 'SIGXCPU', 'SIGXFSZ', 'SIGIO', 'SIGPWR'];

const forceAfter = 3;

/** Forward signals to container `id`; the returned function stops forwarding. */
export function proxySignals(ctx: CliContext, id: string): () => void {
  let terminations = 0;
  const handlers = new Map<NodeJS.Signals, () => void>();
  for (const signal of forwarded) {
    const handler = () => {
      if (signal === 'SIGINT' || signal === 'SIGTERM') {
        terminations++;
        if (terminations >= forceAfter) {
          ctx.err('\ngot 3 SIGTERM/SIGINTs, forcefully exiting\n');
          ctx.forceExit(1);
          return;
        }
      }
      ctx.api.call({ method: 'POST', path: `/containers/${encodeURIComponent(id)}/kill`, query: { signal: signal.slice(3) } }).catch(() => {
        /* docker only logs this at debug level */
      });
    };
    try {
      process.on(signal, handler);
      handlers.set(signal, handler);
    } catch {
      /* a signal this platform does not have */
    }
  }
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

/** Without --sig-proxy a SIGINT/SIGTERM does not end the wait either; the third ends the CLI. */
export function countTerminations(ctx: CliContext): () => void {
  let terminations = 0;
  const handler = () => {
    terminations++;
    if (terminations >= forceAfter) {
      ctx.err('\ngot 3 SIGTERM/SIGINTs, forcefully exiting\n');
      ctx.forceExit(1);
    }
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
