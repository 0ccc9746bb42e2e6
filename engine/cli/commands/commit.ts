/**
 * `tsdocker commit [-a AUTHOR] [-m MESSAGE] [-c CHANGE] [-p=false] CONTAINER [REPOSITORY[:TAG]]`:
 * POST /commit; prints the new image's ID.
 */
import { Option } from 'commander';
import { familiarName, parseImageReference } from '../../../shared/reference.js';
import { CliError } from '../cli-error.js';
import { collect, type CommandSpec } from '../command-kit.js';

interface CommitOptions {
  author?: string;
  message?: string;
  change?: string[];
  pause?: boolean;
}

export const commitCommand: CommandSpec<CommitOptions> = {
  usage: '[OPTIONS] CONTAINER [REPOSITORY[:TAG]]',
  description: "Create a new image from a container's changes",
  args: { min: 1, max: 2 },
  options: (c) =>
    c
      .option('-a, --author <string>', 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")')
      .option('-c, --change <list>', 'Apply Dockerfile instruction to the created image', collect)
      .option('-m, --message <string>', 'Commit message')
      .option('-p, --pause', 'Pause container during commit (default true)')
      .addOption(new Option('--no-pause').hideHelp()),
  async run(ctx, [container, reference], options) {
    let repo: string | undefined;
    let tag: string | undefined;
    if (reference) {
      const ref = parseImageReference(reference, { defaultTag: '' });
      if (ref.digest) throw new CliError('refusing to create a tag with a digest reference');
      repo = familiarName(ref);
      tag = ref.tag || undefined;
    }
    const result = await ctx.api.json<{ Id: string }>({
      method: 'POST',
      path: '/commit',
      query: {
        container,
        repo,
        tag,
        comment: options.message || undefined,
        author: options.author || undefined,
        pause: options.pause !== false,
        changes: options.change,
      },
      json: null,
    });
    ctx.out(`${result.Id}\n`);
  },
};
