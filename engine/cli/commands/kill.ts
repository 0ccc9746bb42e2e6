/** `tsdocker kill [-s SIGNAL] CONTAINER...`: POST /containers/{id}/kill?signal= for each, in parallel. */
import type { CommandSpec } from '../command-kit.js';
import { containerPath } from '../container/container-api.js';
import { eachContainer } from '../container/each-container.js';

interface KillOptions {
  signal?: string;
}

export const killCommand: CommandSpec<KillOptions> = {
  usage: '[OPTIONS] CONTAINER [CONTAINER...]',
  description: 'Kill one or more running containers',
  args: { min: 1 },
  options: (c) => c.option('-s, --signal <string>', 'Signal to send to the container'),
  async run(ctx, names, options) {
    await eachContainer(ctx, names, (name) => ctx.api.call({ method: 'POST', path: containerPath(name, '/kill'), query: { signal: options.signal || undefined } }));
  },
};
