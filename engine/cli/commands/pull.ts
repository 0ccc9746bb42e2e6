/** `tsdocker pull [-a] [-q] [--platform P] NAME[:TAG|@DIGEST]`: POST /images/create, with progress. */
import { CliError } from '../cli-error.js';
import type { CommandSpec } from '../command-kit.js';
import { showProgress } from '../progress/show-progress.js';
import { registryAuthHeader } from '../registry-auth.js';
import { apiName, canonicalText, parseUserReference } from '../user-reference.js';

interface PullOptions {
  allTags?: boolean;
  platform?: string;
  quiet?: boolean;
}

export const pullCommand: CommandSpec<PullOptions> = {
  usage: '[OPTIONS] NAME[:TAG|@DIGEST]',
  description: 'Download an image from a registry',
  args: { exactly: 1 },
  options: (c) =>
    c
      .option('-a, --all-tags', 'Download all tagged images in the repository')
      .option('--platform <string>', 'Set platform if server is multi-platform capable')
      .option('-q, --quiet', 'Suppress verbose output'),
  async run(ctx, [name], options) {
    const { ref, nameOnly } = parseUserReference(name!);
    if (options.allTags && !nameOnly) throw new CliError("tag can't be used with --all-tags/-a");
    if (!options.allTags && nameOnly) {
      ref.tag = 'latest';
      if (!options.quiet) ctx.out('Using default tag: latest\n');
    }
    const response = await ctx.api.send({
      method: 'POST',
      path: '/images/create',
      query: {
        fromImage: apiName(ref),
        tag: options.allTags ? undefined : (ref.digest ?? ref.tag),
        platform: options.platform || undefined,
      },
      headers: { 'X-Registry-Auth': await registryAuthHeader(ref.domain, ctx.dockerConfig) },
    });
    await showProgress(ctx, response, { quiet: options.quiet });
    ctx.out(`${canonicalText(ref)}\n`);
  },
};
