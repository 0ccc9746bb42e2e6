/** `tsdocker push [-a] [-q] NAME[:TAG]`: POST /images/{name}/push, with progress. */
import { CliError } from '../cli-error.js';
import type { CommandSpec } from '../command-kit.js';
import { refSegment } from '../engine-api.js';
import { showProgress } from '../progress/show-progress.js';
import { registryAuthHeader } from '../registry-auth.js';
import { apiName, canonicalText, parseUserReference } from '../user-reference.js';

interface PushOptions {
  allTags?: boolean;
  quiet?: boolean;
}

export const pushCommand: CommandSpec<PushOptions> = {
  usage: '[OPTIONS] NAME[:TAG]',
  description: 'Upload an image to a registry',
  args: { exactly: 1 },
  options: (c) =>
    c
      .option('-a, --all-tags', 'Push all tags of an image to the repository')
      .option('-q, --quiet', 'Suppress verbose output'),
  async run(ctx, [name], options) {
    const { ref, nameOnly } = parseUserReference(name!);
    if (options.allTags && !nameOnly) throw new CliError("tag can't be used with --all-tags/-a");
    if (ref.digest) throw new CliError('cannot push a digest reference');
    if (!options.allTags && nameOnly) {
      ref.tag = 'latest';
      if (!options.quiet) ctx.out('Using default tag: latest\n');
    }
    const response = await ctx.api.send({
      method: 'POST',
      path: `/images/${refSegment(apiName(ref))}/push`,
      query: { tag: options.allTags ? undefined : ref.tag },
      headers: { 'X-Registry-Auth': await registryAuthHeader(ref.domain, ctx.dockerConfig) },
    });
    await showProgress(ctx, response, { quiet: options.quiet });
    if (options.quiet) ctx.out(`${canonicalText(ref)}\n`);
  },
};
