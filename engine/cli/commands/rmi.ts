/**
 * `tsdocker rmi [-f] [--no-prune] IMAGE...` (also `image rm`): DELETE /images/{name} for each,
 * printing `Untagged:` / `Deleted:` lines; failures are reported together and exit 1.
 */
import { CliError } from '../cli-error.js';
import type { CommandSpec } from '../command-kit.js';
import { refSegment } from '../engine-api.js';

export interface DeleteResponseItem {
  Untagged?: string;
  Deleted?: string;
}

interface RmiOptions {
  force?: boolean;
  /** false with --no-prune */
  prune?: boolean;
}

export const rmiCommand: CommandSpec<RmiOptions> = {
  usage: '[OPTIONS] IMAGE [IMAGE...]',
  description: 'Remove one or more images',
  args: { min: 1 },
  options: (c) =>
    c.option('-f, --force', 'Force removal of the image').option('--no-prune', 'Do not delete untagged parents'),
  async run(ctx, images, options) {
    const failures: string[] = [];
    for (const image of images) {
      try {
        const items = await ctx.api.json<DeleteResponseItem[]>({
          method: 'DELETE',
          path: `/images/${refSegment(image)}`,
          query: { force: options.force ? true : undefined, noprune: options.prune === false ? true : undefined },
        });
        for (const item of items) {
          if (item.Untagged) ctx.out(`Untagged: ${item.Untagged}\n`);
          if (item.Deleted) ctx.out(`Deleted: ${item.Deleted}\n`);
        }
      } catch (err) {
        if (!(err instanceof CliError) || err.status === undefined) throw err;
        failures.push(err.message);
      }
    }
    if (failures.length > 0) throw new CliError(failures.join('\n'));
  },
};
