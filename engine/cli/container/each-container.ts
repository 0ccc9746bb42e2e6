/**
 * docker's parallelOperation for stop, kill, restart and rm: the operation runs for every named
 * container at once (at most 50 in flight), results are reported in the order given: the name on
 * stdout when it worked, the errors joined into one failure at the end.
 */
import { CliError } from '../cli-error.js';
import type { CliContext } from '../context.js';

const maxInFlight = 50;

export async function eachContainer(
  ctx: CliContext,
  names: string[],
  operation: (name: string) => Promise<void>,
  options: { tolerate?: (err: unknown) => boolean } = {},
): Promise<void> {
  const results: Array<Promise<unknown>> = [];
  let running = 0;
  const queue: Array<() => void> = [];
  const slot = async () => {
    if (running < maxInFlight) {
      running++;
      return;
    }
    await new Promise<void>((resolve) => queue.push(resolve));
    running++;
  };
  const release = () => {
    running--;
    queue.shift()?.();
  };
  for (const name of names) {
    results.push(
      slot().then(() =>
        operation(name).then(
          () => {
            release();
            return undefined;
          },
          (err: unknown) => {
            release();
            return err instanceof Error ? err : new Error(String(err));
          },
        ),
      ),
    );
  }
  const errors: string[] = [];
  for (let i = 0; i < names.length; i++) {
    const err = (await results[i]) as Error | undefined;
    if (err === undefined) ctx.out(`${names[i]}\n`);
    else if (options.tolerate?.(err)) ctx.err(`${err.message}\n`);
    else errors.push(err.message);
  }
  if (errors.length > 0) throw new CliError(errors.join('\n'));
}
