/**
 * Commands the docker way on top of commander: the usage line and argument-count errors docker
 * prints (`tsdocker: 'tsdocker tag' requires 2 arguments`, exit 1), flag errors with the usage
 * (exit 125), `--flag=false` / `-f=value` spellings of pflag, and one builder used for both the
 * top-level commands and their `tsdocker image ...` aliases.
 */
import { Command, CommanderError, InvalidArgumentError, type Option } from 'commander';
import { CliError, flagErrorExitCode } from './cli-error.js';
import type { CliContext } from './context.js';

export const programName = 'tsdocker';

export interface Arity {
  exactly?: number;
  min?: number;
  max?: number;
}

export interface CommandSpec<O = Record<string, unknown>> {
  /** After the command path, e.g. `[OPTIONS] IMAGE [IMAGE...]`. */
  usage: string;
  description: string;
  args: Arity;
  options?: (command: Command, ctx: CliContext) => void;
  run(ctx: CliContext, args: string[], options: O): Promise<void>;
}

/** Thrown after commander printed help or the version: not a failure. */
export class HelpShown extends Error {}

const plural = (n: number) => `${n} argument${n === 1 ? '' : 's'}`;

function usageBlock(path: string, usage: string): string {
  return `Usage:  ${path}${usage ? ` ${usage}` : ''}`;
}

/** docker's argument-count message for `path` (e.g. `tsdocker image tag`). */
export function arityError(path: string, usage: string, arity: Arity, got: number): CliError | undefined {
  let problem: string | undefined;
  let hint = 'Run';
  if (arity.exactly !== undefined && got !== arity.exactly) {
    problem = arity.exactly === 0 ? 'accepts no arguments' : `requires ${plural(arity.exactly)}`;
  } else if (arity.min !== undefined && got < arity.min) {
    problem = `requires at least ${plural(arity.min)}`;
    hint = 'See';
  } else if (arity.max !== undefined && got > arity.max) {
    problem = arity.max === 0 ? 'accepts no arguments' : `requires at most ${plural(arity.max)}`;
  }
  if (problem === undefined) return undefined;
  return new CliError(`${programName}: '${path}' ${problem}\n\n${usageBlock(path, usage)}\n\n${hint} '${path} --help' for more information`);
}

/** commander's parse errors in docker's words; help and version requests become HelpShown. */
function translate(err: CommanderError, path: string, usage: string, argv: readonly string[]): Error {
  if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return new HelpShown();
  const quoted = /'([^']+)'/.exec(err.message)?.[1] ?? '';
  let message: string;
  switch (err.code) {
    case 'commander.unknownOption':
      message = quoted.startsWith('--') ? `unknown flag: ${quoted}` : `unknown shorthand flag: '${quoted.slice(1, 2)}' in ${quoted}`;
      break;
    case 'commander.optionMissingArgument': {
      // The flag without its value is the last word; say it as it was written, as pflag does.
      const typed = argv.at(-1) ?? '';
      message = /^-[A-Za-z]$/.test(typed) ? `flag needs an argument: '${typed.slice(1)}' in ${typed}` : `flag needs an argument: ${/--[\w-]+/.exec(quoted)?.[0] ?? quoted}`;
      break;
    }
    case 'commander.invalidArgument': {
      const m = /option '([^']+)' argument '(.*)' is invalid\. ?(.*)$/s.exec(err.message);
      message = m ? `invalid argument "${m[2]}" for "${m[1]!.replace(/ <.*>$/, '')}" flag: ${m[3]}` : err.message.replace(/^error: /, '');
      break;
    }
    case 'commander.unknownCommand':
      return new CliError(`${programName}: unknown command: ${path} ${quoted}\n\nRun '${path} --help' for more information`);
    default:
      message = err.message.replace(/^error: /, '');
  }
  return new CliError(`${message}\n\n${usageBlock(path, usage)}\n\nRun '${path} --help' for more information`, { exitCode: flagErrorExitCode });
}

/**
 * pflag spellings commander lacks: `--flag=false` / `-f=true` for booleans (a negatable flag
 * becomes `--no-flag`), and `-f=value` for a flag that takes a value.
 */
export function pflagSpellings(args: string[], options: readonly Option[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    const m = /^(-[A-Za-z]|--[A-Za-z][\w-]*)=(.*)$/s.exec(arg);
    const option = m ? options.find((o) => !o.negate && (o.short === m[1] || o.long === m[1])) : undefined;
    if (!m || !option) {
      out.push(arg);
      continue;
    }
    const value = m[2]!;
    if (option.required || option.optional) {
      out.push(option.long ?? option.short!, value);
    } else if (value === 'true' || value === '1') {
      out.push(option.long ?? option.short!);
    } else if (value === 'false' || value === '0') {
      const negation = option.long && options.find((o) => o.negate && o.long === option.long!.replace(/^--/, '--no-'));
      if (negation) out.push(negation.long!);
    } else {
      out.push(arg); // commander then reports it as unknown
    }
  }
  return out;
}

/** A commander Command that accepts pflag spellings and answers errors the docker way. */
export class DockerCommand extends Command {
  path = programName;
  usageText = '';
  private parsedArgv: readonly string[] = [];

  override createCommand(name?: string): Command {
    return new DockerCommand(name);
  }

  override parseOptions(argv: string[]): { operands: string[]; unknown: string[] } {
    // Only a leaf rewrites: a group's argv still holds its subcommand's flags.
    this.parsedArgv = this.commands.length === 0 ? pflagSpellings(argv, this.options) : argv;
    return super.parseOptions([...this.parsedArgv]);
  }

  /** Route commander's errors and output through the context, with this command's usage. */
  dockerErrors(ctx: CliContext): this {
    this.exitOverride((err) => {
      throw translate(err, this.path, this.usageText, this.parsedArgv);
    });
    this.configureOutput({
      writeOut: (s) => ctx.out(s),
      writeErr: (s) => ctx.err(s),
      outputError: () => {},
    });
    // Commands listed by name (and aliases), as docker lists them, without commander's [args...].
    this.configureHelp({ subcommandTerm: (c) => [c.name(), ...c.aliases()].join(', ') });
    this.helpOption('-h, --help', 'Print usage');
    return this;
  }
}

/** Add command `name` below `parent` (path `parentPath name`), running `spec`. */
export function addCommand<O>(ctx: CliContext, parent: DockerCommand, name: string, spec: CommandSpec<O>, aliases: string[] = []): DockerCommand {
  const command = new DockerCommand(name);
  command.path = `${parent.path} ${name}`;
  command.usageText = spec.usage;
  command
    .description(spec.description)
    .usage(spec.usage)
    .argument('[args...]')
    .allowExcessArguments(true)
    .dockerErrors(ctx);
  for (const alias of aliases) command.alias(alias);
  spec.options?.(command, ctx);
  command.action(async (args: string[], options: O) => {
    const bad = arityError(command.path, spec.usage, spec.args, args.length);
    if (bad) throw bad;
    await spec.run(ctx, args, options);
  });
  parent.addCommand(command);
  return command;
}

/** Collect a repeatable option (`--label a --label b`). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** A repeatable `--filter name=value`, checked as docker checks it. */
export function collectFilter(value: string, previous: string[] | undefined): string[] {
  if (!value.includes('=')) throw new InvalidArgumentError('bad format of filter (expected name=value)');
  return collect(value, previous);
}

/** The Engine API's `filters` query value: `{"name":{"value":true}}`. */
export function filtersJSON(filters: string[]): string | undefined {
  if (filters.length === 0) return undefined;
  const byName: Record<string, Record<string, boolean>> = {};
  for (const filter of filters) {
    const eq = filter.indexOf('=');
    const name = filter.slice(0, eq).trim().toLowerCase();
    (byName[name] ??= {})[filter.slice(eq + 1)] = true;
  }
  return JSON.stringify(byName);
}
