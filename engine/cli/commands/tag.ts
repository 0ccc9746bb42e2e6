/** `tsdocker tag SOURCE TARGET` (also `image tag`): POST /images/{source}/tag?repo=&tag=. */
import { CliError } from '../cli-error.js';
import type { CommandSpec } from '../command-kit.js';
import { refSegment } from '../engine-api.js';
import { apiName, parseUserReference } from '../user-reference.js';

export const tagCommand: CommandSpec = {
  usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]',
  description: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  args: { exactly: 2 },
  async run(ctx, [source, target]) {
    let parsed;
    try {
      parsed = parseUserReference(target!);
    } catch (err) {
      throw new CliError(`Error parsing reference: ${JSON.stringify(target)} is not a valid repository/tag: ${(err as Error).message}`);
    }
    if (parsed.ref.digest) throw new CliError('refusing to create a tag with a digest reference');
    await ctx.api.send({
      method: 'POST',
      path: `/images/${refSegment(source!)}/tag`,
      query: { repo: apiName(parsed.ref), tag: parsed.ref.tag ?? 'latest' },
    });
  },
};
