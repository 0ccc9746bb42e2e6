/**
 * The command tree: docker's global options, the top-level image and container commands, and
 * the `image`, `container`, `network` and `volume` groups under docker's management-command names.
 */
import { CliError } from './cli-error.js';
import { addCommand, DockerCommand, programName, type CommandSpec } from './command-kit.js';
import type { CliContext } from './context.js';

// Command modules are imported when their command is used: a CLI start-up loads the one it runs
// (and, for help or an unknown command, all of them), not the whole tree.
type Load = () => Promise<CommandSpec<any>>;

interface Entry {
  name: string;
  load: Load;
  aliases?: string[];
}

const commands = {
  attach: async () => (await import('./commands/attach.js')).attachCommand,
  commit: async () => (await import('./commands/commit.js')).commitCommand,
  containerPrune: async () => (await import('./commands/container-prune.js')).containerPruneCommand,
  create: async () => (await import('./commands/create.js')).createCommand,
  diff: async () => (await import('./commands/diff.js')).diffCommand,
  exec: async () => (await import('./commands/exec.js')).execCommand,
  export: async () => (await import('./commands/export.js')).exportCommand,
  kill: async () => (await import('./commands/kill.js')).killCommand,
  logs: async () => (await import('./commands/logs.js')).logsCommand,
  networkConnect: async () => (await import('./commands/network.js')).networkConnectCommand,
  networkCreate: async () => (await import('./commands/network.js')).networkCreateCommand,
  networkDisconnect: async () => (await import('./commands/network.js')).networkDisconnectCommand,
  networkInspect: async () => (await import('./commands/network.js')).networkInspectCommand,
  networkLs: async () => (await import('./commands/network.js')).networkLsCommand,
  networkPrune: async () => (await import('./commands/network.js')).networkPruneCommand,
  networkRm: async () => (await import('./commands/network.js')).networkRmCommand,
  port: async () => (await import('./commands/port.js')).portCommand,
  ps: async () => (await import('./commands/ps.js')).psCommand,
  rename: async () => (await import('./commands/rename.js')).renameCommand,
  rm: async () => (await import('./commands/rm.js')).rmCommand,
  run: async () => (await import('./commands/run.js')).runCommand,
  start: async () => (await import('./commands/start.js')).startCommand,
  restart: async () => (await import('./commands/stop.js')).restartCommand,
  stop: async () => (await import('./commands/stop.js')).stopCommand,
  top: async () => (await import('./commands/top.js')).topCommand,
  volumeCreate: async () => (await import('./commands/volume.js')).volumeCreateCommand,
  volumeInspect: async () => (await import('./commands/volume.js')).volumeInspectCommand,
  volumeLs: async () => (await import('./commands/volume.js')).volumeLsCommand,
  volumePrune: async () => (await import('./commands/volume.js')).volumePruneCommand,
  volumeRm: async () => (await import('./commands/volume.js')).volumeRmCommand,
  wait: async () => (await import('./commands/wait.js')).waitCommand,
  history: async () => (await import('./commands/history.js')).historyCommand,
  images: async () => (await import('./commands/images.js')).imagesCommand,
  info: async () => (await import('./commands/info.js')).infoCommand,
  inspect: async () => (await import('./commands/inspect.js')).inspectCommand,
  imageInspect: async () => (await import('./commands/inspect.js')).imageInspectCommand,
  containerInspect: async () =>
    (await import('./commands/inspect.js')).typedInspectCommand('container', '[OPTIONS] CONTAINER [CONTAINER...]', 'Display detailed information on one or more containers'),
  load: async () => (await import('./commands/load.js')).loadCommand,
  login: async () => (await import('./commands/login.js')).loginCommand,
  logout: async () => (await import('./commands/login.js')).logoutCommand,
  prune: async () => (await import('./commands/prune.js')).pruneCommand,
  pull: async () => (await import('./commands/pull.js')).pullCommand,
  push: async () => (await import('./commands/push.js')).pushCommand,
  rmi: async () => (await import('./commands/rmi.js')).rmiCommand,
  save: async () => (await import('./commands/save.js')).saveCommand,
  tag: async () => (await import('./commands/tag.js')).tagCommand,
  version: async () => (await import('./commands/version.js')).versionCommand,
} satisfies Record<string, Load>;

const containerEntries: Entry[] = (['run', 'create', 'start', 'stop', 'restart', 'kill', 'rm', 'ps', 'logs', 'exec', 'top', 'diff', 'export', 'commit', 'wait', 'attach', 'rename', 'port'] as const)
  .map((name) => ({ name, load: commands[name] }));

const imageEntries: Entry[] = (['images', 'pull', 'push', 'tag', 'rmi', 'inspect', 'history', 'save', 'load', 'login', 'logout', 'version', 'info'] as const)
  .map((name) => ({ name, load: commands[name] }));

interface Group {
  name: string;
  description: string;
  entries: Entry[];
}

const groups: Group[] = [
  {
    name: 'image',
    description: 'Manage images',
    entries: [
      { name: 'ls', load: commands.images, aliases: ['list'] },
      { name: 'pull', load: commands.pull },
      { name: 'push', load: commands.push },
      { name: 'tag', load: commands.tag },
      { name: 'rm', load: commands.rmi, aliases: ['remove'] },
      { name: 'inspect', load: commands.imageInspect },
      { name: 'history', load: commands.history },
      { name: 'save', load: commands.save },
      { name: 'load', load: commands.load },
      { name: 'prune', load: commands.prune },
    ],
  },
  {
    name: 'container',
    description: 'Manage containers',
    entries: [
      ...containerEntries.map((e): Entry => (e.name === 'ps' ? { name: 'ls', load: e.load, aliases: ['ps', 'list'] } : e.name === 'rm' ? { ...e, aliases: ['remove'] } : e)),
      { name: 'inspect', load: commands.containerInspect },
      { name: 'prune', load: commands.containerPrune },
    ],
  },
  {
    name: 'network',
    description: 'Manage networks',
    entries: [
      { name: 'connect', load: commands.networkConnect },
      { name: 'create', load: commands.networkCreate },
      { name: 'disconnect', load: commands.networkDisconnect },
      { name: 'inspect', load: commands.networkInspect },
      { name: 'ls', load: commands.networkLs, aliases: ['list'] },
      { name: 'prune', load: commands.networkPrune },
      { name: 'rm', load: commands.networkRm, aliases: ['remove'] },
    ],
  },
  {
    name: 'volume',
    description: 'Manage volumes',
    entries: [
      { name: 'create', load: commands.volumeCreate },
      { name: 'inspect', load: commands.volumeInspect },
      { name: 'ls', load: commands.volumeLs, aliases: ['list'] },
      { name: 'prune', load: commands.volumePrune },
      { name: 'rm', load: commands.volumeRm, aliases: ['remove'] },
    ],
  },
];

/** The program's commands and management groups, in the order help lists them. */
const layout: Array<Entry | Group> = [...imageEntries, groups[0]!, ...containerEntries, ...groups.slice(1)];
const topLevel = layout.filter((x): x is Entry => !('entries' in x));

/** The global options that take a value (their value is not the command's name). */
const globalsWithValue = new Set(['--config', '-H', '--host', '-l', '--log-level']);

/** The command words of `argv` (`run`, or `image ls`): the positional arguments before the command's own. */
export function commandWords(argv: string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      // A command's own flag ends the search: what follows may be its values, not words.
      if (words.length > 0) break;
      if (globalsWithValue.has(arg)) i++;
      continue;
    }
    words.push(arg);
  }
  return words;
}

const matches = (e: Entry, word: string | undefined): boolean => word !== undefined && (e.name === word || (e.aliases ?? []).includes(word));

/**
 * The program for `argv`: only the command it names is loaded (help and unknown commands load the
 * whole tree, so that listings and messages are complete).
 */
export async function buildProgram(ctx: CliContext, argv: string[] = []): Promise<DockerCommand> {
  const [first, second] = commandWords(argv);
  const top = topLevel.find((e) => matches(e, first));
  const group = groups.find((g) => g.name === first);
  const inGroup = group?.entries.find((e) => matches(e, second));
  const everything = !top && !inGroup;

  const program = new DockerCommand(programName);
  program.path = programName;
  program.usageText = '[OPTIONS] COMMAND [ARG...]';
  program
    .usage('[OPTIONS] COMMAND [ARG...]')
    .description('A self-sufficient runtime for containers')
    .enablePositionalOptions()
    .option('--config <string>', 'Location of client config files (default "~/.docker")')
    .option('-D, --debug', 'Enable debug mode')
    .option('-H, --host <string>', 'Daemon socket to connect to (unix:///path or tcp://host:port)')
    .option('-l, --log-level <string>', 'Set the logging level ("debug", "info", "warn", "error", "fatal")')
    .version(`${programName} version ${ctx.version}`, '-v, --version', 'Print version information and quit')
    .argument('[command]')
    .dockerErrors(ctx)
    .hook('preAction', (root) => {
      const globals = root.opts<{ host?: string; config?: string }>();
      ctx.setGlobals({ host: globals.host, config: globals.config });
    })
    .action((command: string | undefined) => {
      if (command !== undefined) throw new CliError(`${programName}: unknown command: ${programName} ${command}\n\nRun '${programName} --help' for more information`);
      program.outputHelp();
    });

  const add = async (parent: DockerCommand, e: Entry) => {
    addCommand(ctx, parent, e.name, await e.load(), e.aliases);
  };
  for (const item of layout) {
    if (!('entries' in item)) {
      if (everything || item === top) await add(program, item);
      continue;
    }
    if (!everything && item !== group) continue;
    const command = addGroup(ctx, program, item.name, item.description);
    for (const e of item.entries) if (everything || e === inGroup) await add(command, e);
  }
  return program;
}

/** A management command (`tsdocker image ...`): its help when called alone, docker's message for an unknown subcommand. */
function addGroup(ctx: CliContext, program: DockerCommand, name: string, description: string): DockerCommand {
  const group = new DockerCommand(name);
  group.path = `${programName} ${name}`;
  group
    .description(description)
    .usage('COMMAND')
    .argument('[command]')
    .enablePositionalOptions()
    .dockerErrors(ctx)
    .action((command: string | undefined) => {
      if (command !== undefined) {
        throw new CliError(`${programName}: unknown command: ${group.path} ${command}\n\nUsage:  ${group.path}\n\nRun '${group.path} --help' for more information`);
      }
      group.outputHelp();
    });
  program.addCommand(group);
  return group;
}
