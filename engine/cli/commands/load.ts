/**
 * `tsdocker load [-i FILE] [-q]` (also `image load`): POST /images/load with the archive from FILE
 * or stdin. As docker does, progress is asked for only when stdout is a terminal.
 */
import { open } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CliError } from '../cli-error.js';
import type { CommandSpec } from '../command-kit.js';
import { fsError } from '../fs-errors.js';
import { showProgress } from '../progress/show-progress.js';

interface LoadOptions {
  input?: string;
  quiet?: boolean;
}

export const loadCommand: CommandSpec<LoadOptions> = {
  usage: '[OPTIONS]',
  description: 'Load an image from a tar archive or STDIN',
  args: { exactly: 0 },
  options: (c) =>
    c.option('-i, --input <string>', 'Read from tar archive file, instead of STDIN').option('-q, --quiet', 'Suppress the load output'),
  async run(ctx, _args, options) {
    let body: Readable;
    if (options.input) {
      // Opened first so a missing file is reported before anything is sent.
      const handle = await open(options.input, 'r').catch((err: unknown) => {
        throw fsError('open', options.input!, err);
      });
      body = handle.createReadStream();
    } else {
      if (ctx.stdinIsTerminal) throw new CliError('requested load from stdin, but stdin is empty');
      body = ctx.stdin;
    }
    const quiet = options.quiet || !ctx.stdoutIsTerminal;
    const response = await ctx.api.send({
      method: 'POST',
      path: '/images/load',
      query: { quiet },
      headers: { 'Content-Type': 'application/x-tar' },
      body,
    });
    if (/application\/json/.test(response.headers['content-type'] ?? '')) {
      await showProgress(ctx, response);
    } else {
      await pipeline(response, ctx.stdout, { end: false });
    }
  },
};
