/**
 * `tsdocker inspect [-f FORMAT] [--type T] NAME...` and `tsdocker image|container|network|volume
 * inspect`: the daemon's JSON for each object as an indented array, or `--format` applied to
 * each. Failures are reported after the output and make the command exit 1: `Error: No such
 * object: NAME` when any kind was looked for, the daemon's own words for one kind.
 */
import { CliError, isDaemonNotFound } from '../cli-error.js';
import type { CommandSpec } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { refSegment } from '../engine-api.js';
import { parseTemplate, type Template } from '../format/go-template.js';
import { indentedArray } from '../format/json-indent.js';

interface InspectOptions {
  format?: string;
  type?: string;
  size?: boolean;
}

export type Kind = 'image' | 'container' | 'network' | 'volume';

const kinds: readonly Kind[] = ['container', 'image', 'network', 'volume'];

const lookups: Record<Kind, (name: string, size: boolean) => { path: string; query?: Record<string, boolean | undefined> }> = {
  container: (name, size) => ({ path: `/containers/${encodeURIComponent(name)}/json`, query: { size: size || undefined } }),
  image: (name) => ({ path: `/images/${refSegment(name)}/json` }),
  network: (name) => ({ path: `/networks/${encodeURIComponent(name)}` }),
  volume: (name) => ({ path: `/volumes/${encodeURIComponent(name)}` }),
};

/** The raw JSON of `name`, or undefined when no object of these kinds has that name. */
async function find(ctx: CliContext, name: string, kinds: readonly Kind[], size: boolean): Promise<string | undefined> {
  for (const kind of kinds) {
    const response = await ctx.api.exchange({ method: 'GET', ...lookups[kind](name, size) });
    const chunks: Buffer[] = [];
    for await (const chunk of response as AsyncIterable<Buffer>) chunks.push(chunk);
    const body = Buffer.concat(chunks).toString('utf8');
    const status = response.statusCode ?? 0;
    if (status < 300) return body;
    // A daemon without containers (or without this kind) answers 404/501: try the next kind.
    if (kinds.length > 1 && (status === 404 || status === 501 || status === 400)) continue;
    let message = body.trim();
    try {
      message = (JSON.parse(message) as { message?: string }).message ?? message;
    } catch {
      /* plain text */
    }
    throw new CliError(`Error response from daemon: ${message}`, { status });
  }
  return undefined;
}

function compile(format: string): Template {
  try {
    return parseTemplate(format);
  } catch (err) {
    throw new CliError(`template parsing error: ${(err as Error).message}`);
  }
}

export async function inspectObjects(ctx: CliContext, names: string[], only: Kind | undefined, format: string | undefined, size = false): Promise<void> {
  const template = format ? compile(format) : undefined;
  const found: string[] = [];
  const missing: string[] = [];
  for (const name of names) {
    try {
      const raw = await find(ctx, name, only ? [only] : kinds, size);
      if (raw === undefined) missing.push(`Error: No such object: ${name}`);
      else found.push(raw);
    } catch (err) {
      if (only && isDaemonNotFound(err)) missing.push((err as Error).message);
      else throw err;
    }
  }
  if (template) {
    for (const raw of found) {
      let text: string;
      try {
        text = template.execute(JSON.parse(raw));
      } catch (err) {
        throw new CliError(`template parsing error: ${(err as Error).message}`);
      }
      ctx.out(`${text}\n`);
    }
  } else {
    ctx.out(indentedArray(found.map((raw) => raw.trim())));
  }
  if (missing.length > 0) throw new CliError(missing.join('\n'));
}

/** Every --type docker knows (swarm and plugin objects included), for its message about a bad one. */
const dockerTypes = ['config', 'container', 'image', 'network', 'node', 'plugin', 'secret', 'service', 'task', 'volume'];

const formatOption = '-f, --format <string>';
const formatHelp = 'Format output using a custom template';

export const inspectCommand: CommandSpec<InspectOptions> = {
  usage: '[OPTIONS] NAME|ID [NAME|ID...]',
  description: 'Return low-level information on objects',
  args: { min: 1 },
  options: (c) =>
    c
      .option(formatOption, formatHelp)
      .option('-s, --size', 'Display total file sizes if the type is container')
      .option('--type <string>', 'Return JSON for specified type (container, image, network, volume)'),
  async run(ctx, names, options) {
    const type = options.type;
    if (type !== undefined && !(kinds as readonly string[]).includes(type)) {
      if (dockerTypes.includes(type)) throw new CliError(`--type ${type}: swarm and plugin objects are not supported`);
      throw new CliError(`unknown type: "${type}": must be one of ${dockerTypes.map((t) => `"${t}"`).join(', ')}`);
    }
    await inspectObjects(ctx, names, type as Kind | undefined, options.format, Boolean(options.size));
  },
};

/** `tsdocker KIND inspect [-f FORMAT] NAME...` for one kind of object. */
export function typedInspectCommand(kind: Kind, usage: string, description: string): CommandSpec<InspectOptions> {
  return {
    usage,
    description,
    args: { min: 1 },
    options: (c) => {
      c.option(formatOption, formatHelp);
      if (kind === 'container') c.option('-s, --size', 'Display total file sizes');
    },
    async run(ctx, names, options) {
      await inspectObjects(ctx, names, kind, options.format, Boolean(options.size));
    },
  };
}

export const imageInspectCommand = typedInspectCommand('image', '[OPTIONS] IMAGE [IMAGE...]', 'Display detailed information on one or more images');
