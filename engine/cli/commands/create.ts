/**
 * `tsdocker create [OPTIONS] IMAGE [COMMAND] [ARG...]` (also `container create`): the container
 * as `run` would make it (pulling a missing image), not started; prints its ID.
 */
import type { CommandSpec } from '../command-kit.js';
import { createContainer } from '../container/create-container.js';
import { addContainerFlags } from '../container/run-flags.js';
import { prepareCreate, type RunOptions } from './run.js';

export const createCommand: CommandSpec<RunOptions> = {
  usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
  description: 'Create a new container',
  args: { min: 1 },
  options: (c, ctx) => addContainerFlags(c, ctx),
  async run(ctx, [image, ...args], options) {
    const { request, pull } = await prepareCreate(ctx, 'create', image!, args, options);
    // Unlike run, a failed create is an ordinary error (exit 1).
    const id = await createContainer(ctx, request.body, { name: options.name, platform: options.platform, pull, quiet: options.quiet, cidfile: options.cidfile });
    ctx.out(`${id}\n`);
  },
};
