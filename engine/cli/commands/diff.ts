/** `tsdocker diff CONTAINER`: what changed in its filesystem, `A`dded, `C`hanged or `D`eleted. */
import type { CommandSpec } from '../command-kit.js';
import { containerPath } from '../container/container-api.js';

interface Change {
  Kind: number;
  Path: string;
}

const kinds = ['C', 'A', 'D'];

export const diffCommand: CommandSpec = {
  usage: 'CONTAINER',
  description: "Inspect changes to files or directories on a container's filesystem",
  args: { exactly: 1 },
  async run(ctx, [name]) {
    const changes = await ctx.api.json<Change[] | null>({ method: 'GET', path: containerPath(name!, '/changes') });
    ctx.out((changes ?? []).map((c) => `${kinds[c.Kind] ?? '?'} ${c.Path}\n`).join(''));
  },
};
