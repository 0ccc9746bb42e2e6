/** `tsdocker wait CONTAINER...`: each container's exit status once it stops; failures at the end. */
import { CliError } from '../cli-error.js';
import type { CommandSpec } from '../command-kit.js';
import { containerPath } from '../container/container-api.js';

interface WaitResponse {
  StatusCode?: number;
  Error?: { Message?: string } | null;
}

export const waitCommand: CommandSpec = {
  usage: 'CONTAINER [CONTAINER...]',
  description: 'Block until one or more containers stop, then print their exit codes',
  args: { min: 1 },
  async run(ctx, names) {
    const errors: string[] = [];
    for (const name of names) {
      try {
        const result = await ctx.api.json<WaitResponse>({ method: 'POST', path: containerPath(name, '/wait') });
        if (result.Error?.Message) errors.push(result.Error.Message);
        else ctx.out(`${result.StatusCode ?? 0}\n`);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (errors.length > 0) throw new CliError(errors.join('\n'));
  },
};
