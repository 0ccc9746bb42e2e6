/** `tsdocker rename CONTAINER NEW_NAME`: POST /containers/{id}/rename?name=. */
import { CliError } from '../cli-error.js';
import type { CommandSpec } from '../command-kit.js';
import { containerPath } from '../container/container-api.js';

export const renameCommand: CommandSpec = {
  usage: 'CONTAINER NEW_NAME',
  description: 'Rename a container',
  args: { exactly: 2 },
  async run(ctx, [from, to]) {
    const oldName = from!.trim();
    const newName = to!.trim();
    if (oldName === '' || newName === '') throw new CliError('Error: Neither old nor new names may be empty');
    try {
      await ctx.api.call({ method: 'POST', path: containerPath(oldName, '/rename'), query: { name: newName } });
    } catch (err) {
      ctx.err(`${(err as Error).message}\n`);
      throw new CliError(`Error: failed to rename container named ${oldName}`);
    }
  },
};
