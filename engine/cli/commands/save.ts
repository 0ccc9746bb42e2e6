/**
 * `tsdocker save [-o FILE] IMAGE...` (also `image save`): GET /images/get, the archive streamed to
 * FILE (no partial file on failure) or to stdout when that is not a terminal.
 */
import type { CommandSpec } from '../command-kit.js';
import { refuseTerminal, writeArchive } from '../stream-output.js';

interface SaveOptions {
  output?: string;
}

export const saveCommand: CommandSpec<SaveOptions> = {
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  args: { min: 1 },
  options: (c) => c.option('-o, --output <string>', 'Write to a file, instead of STDOUT'),
  async run(ctx, images, options) {
    refuseTerminal(ctx, options.output);
    const response = await ctx.api.send({ method: 'GET', path: '/images/get', query: { names: images } });
    await writeArchive(ctx, response, options.output, 'save image');
  },
};
