/**
 * The exit status of a container the CLI is about to start: POST /containers/{id}/wait with
 * condition `next-exit`, or `removed` for an --rm container (so the CLI returns only once the
 * daemon has removed it), sent before the start as docker does. A wait that fails gives 125.
 */
import type { CliContext } from '../context.js';

interface WaitResponse {
  StatusCode?: number;
  Error?: { Message?: string } | null;
}

export interface ExitWait {
  /** The container's exit status (125 when the wait itself failed). */
  status: Promise<number>;
  /** Stop waiting (the status then never settles). */
  cancel(): void;
}

/** How long to let the daemon confirm the wait (dockerd sends its headers once it waits) before the start. */
const registerGraceMs = 250;

export async function waitExitOrRemoved(ctx: CliContext, id: string, removed: boolean): Promise<ExitWait> {
  const controller = new AbortController();
  let confirmed: () => void = () => {};
  const headers = new Promise<void>((resolve) => (confirmed = resolve));
  const status = (async () => {
    try {
      const res = await ctx.api.send({
        method: 'POST',
        path: `/containers/${encodeURIComponent(id)}/wait`,
        query: { condition: removed ? 'removed' : 'next-exit' },
        signal: controller.signal,
      });
      confirmed();
      let text = '';
      for await (const chunk of res as AsyncIterable<Buffer>) text += chunk.toString('utf8');
      const body = JSON.parse(text) as WaitResponse;
      if (body.Error?.Message) {
        ctx.err(`Error waiting for container: ${body.Error.Message}\n`);
        return 125;
      }
      return body.StatusCode ?? 0;
    } catch (err) {
      confirmed();
      if (controller.signal.aborted) return new Promise<number>(() => {});
      ctx.err(`error waiting for container: ${(err as Error).message}\n`);
      return 125;
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([headers, new Promise<void>((resolve) => (timer = setTimeout(resolve, registerGraceMs)))]);
  clearTimeout(timer);
  return { status, cancel: () => controller.abort() };
}
