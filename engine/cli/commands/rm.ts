/**
 * `tsdocker rm [-f] [-v] [-l] CONTAINER...` (also `container rm`): DELETE /containers/{id} for
 * each, in parallel. With -f a container that does not exist is only reported, as docker does.
 */
import { CliError, isDaemonNotFound } from '../cli-error.js';
import type { CommandSpec } from '../command-kit.js';
import { containerPath } from '../container/container-api.js';
import { eachContainer } from '../container/each-container.js';

interface RmOptions {
  force?: boolean;
  volumes?: boolean;
  link?: boolean;
}

export const rmCommand: CommandSpec<RmOptions> = {
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Remove one or more containers',
  args: { min: 1 },
  options: (c) =>
    c
      .option('-f, --force', 'Force the removal of a running container (uses SIGKILL)')
      .option('-l, --link', 'Remove the specified link')
      .option('-v, --volumes', 'Remove anonymous volumes associated with the container'),
  async run(ctx, names, options) {
    await eachContainer(
      ctx,
      names,
      async (name) => {
        const id = name.replace(/^\/+|\/+$/g, '');
        if (id === '') throw new CliError('container name cannot be empty');
        await ctx.api.call({ method: 'DELETE', path: containerPath(id), query: { force: options.force || undefined, v: options.volumes || undefined, link: options.link || undefined } });
      },
      { tolerate: (err) => Boolean(options.force) && isDaemonNotFound(err) },
    );
  },
};
