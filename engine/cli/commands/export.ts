/** `tsdocker export [-o FILE] CONTAINER`: the container's filesystem as a tar archive. */
import type { CommandSpec } from '../command-kit.js';
import { containerPath } from '../container/container-api.js';
import { refuseTerminal, writeArchive } from '../stream-output.js';

interface ExportOptions {
  output?: string;
}

export const exportCommand: CommandSpec<ExportOptions> = {
  usage: '[OPTIONS] CONTAINER',
  description: "Export a container's filesystem as a tar archive",
  args: { exactly: 1 },
  options: (c) => c.option('-o, --output <string>', 'Write to a file, instead of STDOUT'),
  async run(ctx, [name], options) {
    refuseTerminal(ctx, options.output);
    const response = await ctx.api.send({ method: 'GET', path: containerPath(name!, '/export') });
    await writeArchive(ctx, response, options.output, 'export container');
  },
};
