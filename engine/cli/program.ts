/**
 * The command tree: docker's global options, the top-level image and container commands, and
 * the `image`, `container`, `network` and `volume` groups under docker's management-command names.
 */
import { CliError } from './cli-error.js';
import { addCommand, DockerCommand, programName, type CommandSpec } from './command-kit.js';
import { attachCommand } from './commands/attach.js';
import { commitCommand } from './commands/commit.js';
import { containerPruneCommand } from './commands/container-prune.js';
import { createCommand } from './commands/create.js';
import { diffCommand } from './commands/diff.js';
import { execCommand } from './commands/exec.js';
import { exportCommand } from './commands/export.js';
import { killCommand } from './commands/kill.js';
import { logsCommand } from './commands/logs.js';
import {
  networkConnectCommand,
  networkCreateCommand,
  networkDisconnectCommand,
  networkInspectCommand,
  networkLsCommand,
  networkPruneCommand,
  networkRmCommand,
} from './commands/network.js';
import { portCommand } from './commands/port.js';
import { psCommand } from './commands/ps.js';
import { renameCommand } from './commands/rename.js';
import { rmCommand } from './commands/rm.js';
import { runCommand } from './commands/run.js';
import { startCommand } from './commands/start.js';
import { restartCommand, stopCommand } from './commands/stop.js';
import { topCommand } from './commands/top.js';
import { volumeCreateCommand, volumeInspectCommand, volumeLsCommand, volumePruneCommand, volumeRmCommand } from './commands/volume.js';
import { waitCommand } from './commands/wait.js';
import { historyCommand } from './commands/history.js';
import { imagesCommand } from './commands/images.js';
import { infoCommand } from './commands/info.js';
import { imageInspectCommand, inspectCommand, typedInspectCommand } from './commands/inspect.js';
import { loadCommand } from './commands/load.js';
import { loginCommand, logoutCommand } from './commands/login.js';
import { pruneCommand } from './commands/prune.js';
import { pullCommand } from './commands/pull.js';
import { pushCommand } from './commands/push.js';
import { rmiCommand } from './commands/rmi.js';
import { saveCommand } from './commands/save.js';
import { tagCommand } from './commands/tag.js';
import { versionCommand } from './commands/version.js';
import type { CliContext } from './context.js';

export function buildProgram(ctx: CliContext): DockerCommand {
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

  addCommand(ctx, program, 'images', imagesCommand);
  addCommand(ctx, program, 'pull', pullCommand);
  addCommand(ctx, program, 'push', pushCommand);
  addCommand(ctx, program, 'tag', tagCommand);
  addCommand(ctx, program, 'rmi', rmiCommand);
  addCommand(ctx, program, 'inspect', inspectCommand);
  addCommand(ctx, program, 'history', historyCommand);
  addCommand(ctx, program, 'save', saveCommand);
  addCommand(ctx, program, 'load', loadCommand);
  addCommand(ctx, program, 'login', loginCommand);
  addCommand(ctx, program, 'logout', logoutCommand);
  addCommand(ctx, program, 'version', versionCommand);
  addCommand(ctx, program, 'info', infoCommand);

  const image = addGroup(ctx, program, 'image', 'Manage images');
  addCommand(ctx, image, 'ls', imagesCommand, ['list']);
  addCommand(ctx, image, 'pull', pullCommand);
  addCommand(ctx, image, 'push', pushCommand);
  addCommand(ctx, image, 'tag', tagCommand);
  addCommand(ctx, image, 'rm', rmiCommand, ['remove']);
  addCommand(ctx, image, 'inspect', imageInspectCommand);
  addCommand(ctx, image, 'history', historyCommand);
  addCommand(ctx, image, 'save', saveCommand);
  addCommand(ctx, image, 'load', loadCommand);
  addCommand(ctx, image, 'prune', pruneCommand);

  const containerCommands: Array<[string, CommandSpec<any>, string[]?]> = [
    ['run', runCommand],
    ['create', createCommand],
    ['start', startCommand],
    ['stop', stopCommand],
    ['restart', restartCommand],
    ['kill', killCommand],
    ['rm', rmCommand],
    ['ps', psCommand],
    ['logs', logsCommand],
    ['exec', execCommand],
    ['top', topCommand],
    ['diff', diffCommand],
    ['export', exportCommand],
    ['commit', commitCommand],
    ['wait', waitCommand],
    ['attach', attachCommand],
    ['rename', renameCommand],
    ['port', portCommand],
  ];
  for (const [name, spec] of containerCommands) addCommand(ctx, program, name, spec);
  const container = addGroup(ctx, program, 'container', 'Manage containers');
  for (const [name, spec] of containerCommands) {
    if (name === 'ps') addCommand(ctx, container, 'ls', spec, ['ps', 'list']);
    else if (name === 'rm') addCommand(ctx, container, 'rm', spec, ['remove']);
    else addCommand(ctx, container, name, spec);
  }
  addCommand(ctx, container, 'inspect', typedInspectCommand('container', '[OPTIONS] CONTAINER [CONTAINER...]', 'Display detailed information on one or more containers'));
  addCommand(ctx, container, 'prune', containerPruneCommand);

  const network = addGroup(ctx, program, 'network', 'Manage networks');
  addCommand(ctx, network, 'connect', networkConnectCommand);
  addCommand(ctx, network, 'create', networkCreateCommand);
  addCommand(ctx, network, 'disconnect', networkDisconnectCommand);
  addCommand(ctx, network, 'inspect', networkInspectCommand);
  addCommand(ctx, network, 'ls', networkLsCommand, ['list']);
  addCommand(ctx, network, 'prune', networkPruneCommand);
  addCommand(ctx, network, 'rm', networkRmCommand, ['remove']);

  const volume = addGroup(ctx, program, 'volume', 'Manage volumes');
  addCommand(ctx, volume, 'create', volumeCreateCommand);
  addCommand(ctx, volume, 'inspect', volumeInspectCommand);
  addCommand(ctx, volume, 'ls', volumeLsCommand, ['list']);
  addCommand(ctx, volume, 'prune', volumePruneCommand);
  addCommand(ctx, volume, 'rm', volumeRmCommand, ['remove']);
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
