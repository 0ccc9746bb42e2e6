/**
 * The flags `run` and `create` share (docker's container options), registered on a command with
 * docker's names, shorthands and value checks. `-h` is --hostname here, so help is `--help` only,
 * and everything after IMAGE belongs to the container's command (pflag's SetInterspersed(false)).
 */
import type { Command } from 'commander';
import { collect } from '../command-kit.js';
import type { CliContext } from '../context.js';
import { attachStream, environmentEntry, flagList, flagValue, goInt, nanoCpus, ramInBytes } from './flag-values.js';

export interface ContainerFlags {
  addHost?: string[];
  attach?: string[];
  capAdd?: string[];
  capDrop?: string[];
  cgroupParent?: string;
  cidfile?: string;
  cpuShares?: number;
  cpus?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  dns?: string[];
  dnsOption?: string[];
  dnsSearch?: string[];
  domainname?: string;
  entrypoint?: string;
  env?: string[];
  envFile?: string[];
  expose?: string[];
  groupAdd?: string[];
  hostname?: string;
  init?: boolean;
  interactive?: boolean;
  ipc?: string;
  label?: string[];
  logDriver?: string;
  logOpt?: string[];
  memory?: number;
  memoryReservation?: number;
  memorySwap?: number;
  name?: string;
  network?: string;
  networkAlias?: string[];
  oomKillDisable?: boolean;
  pid?: string;
  pidsLimit?: number;
  platform?: string;
  privileged?: boolean;
  publish?: string[];
  publishAll?: boolean;
  pull?: string;
  quiet?: boolean;
  readOnly?: boolean;
  restart?: string;
  rm?: boolean;
  runtime?: string;
  securityOpt?: string[];
  shmSize?: number;
  stopSignal?: string;
  stopTimeout?: number;
  sysctl?: string[];
  tmpfs?: string[];
  tty?: boolean;
  ulimit?: string[];
  user?: string;
  uts?: string;
  volume?: string[];
  volumesFrom?: string[];
  workdir?: string;
}

const memory = flagValue(ramInBytes);
const swap = flagValue((text: string) => (text === '-1' ? -1 : ramInBytes(text)));
const integer = flagValue(goInt);

export function addContainerFlags(c: Command, ctx: CliContext): void {
  c.helpOption('--help', 'Print usage');
  c.passThroughOptions();
  c.option('--add-host <list>', 'Add a custom host-to-IP mapping (host:ip)', collect)
    .option('-a, --attach <list>', 'Attach to STDIN, STDOUT or STDERR', flagList(attachStream))
    .option('--cap-add <list>', 'Add Linux capabilities', collect)
    .option('--cap-drop <list>', 'Drop Linux capabilities', collect)
    .option('--cgroup-parent <string>', 'Optional parent cgroup for the container')
    .option('--cidfile <string>', 'Write the container ID to the file')
    .option('-c, --cpu-shares <int>', 'CPU shares (relative weight)', integer)
    .option('--cpus <decimal>', 'Number of CPUs', flagValue(nanoCpus))
    .option('--cpuset-cpus <string>', 'CPUs in which to allow execution (0-3, 0,1)')
    .option('--cpuset-mems <string>', 'MEMs in which to allow execution (0-3, 0,1)')
    .option('--dns <list>', 'Set custom DNS servers', collect)
    .option('--dns-option <list>', 'Set DNS options', collect)
    .option('--dns-search <list>', 'Set custom DNS search domains', collect)
    .option('--domainname <string>', 'Container NIS domain name')
    .option('--entrypoint <string>', 'Overwrite the default ENTRYPOINT of the image')
    .option('-e, --env <list>', 'Set environment variables', flagList(environmentEntry(ctx.env)))
    .option('--env-file <list>', 'Read in a file of environment variables', collect)
    .option('--expose <list>', 'Expose a port or a range of ports', collect)
    .option('--group-add <list>', 'Add additional groups to join', collect)
    .option('-h, --hostname <string>', 'Container host name')
    .option('--init', 'Run an init inside the container that forwards signals and reaps processes')
    .option('-i, --interactive', 'Keep STDIN open even if not attached')
    .option('--ipc <string>', 'IPC mode to use')
    .option('-l, --label <list>', 'Set meta data on a container', collect)
    .option('--log-driver <string>', 'Logging driver for the container')
    .option('--log-opt <list>', 'Log driver options', collect)
    .option('-m, --memory <bytes>', 'Memory limit', memory)
    .option('--memory-reservation <bytes>', 'Memory soft limit', memory)
    .option('--memory-swap <bytes>', "Swap limit equal to memory plus swap: '-1' to enable unlimited swap", swap)
    .option('--name <string>', 'Assign a name to the container')
    .option('--network <network>', 'Connect a container to a network')
    .option('--net <network>', 'Connect a container to a network (same as --network)')
    .option('--network-alias <list>', 'Add network-scoped alias for the container', collect)
    .option('--oom-kill-disable', 'Disable OOM Killer')
    .option('--pid <string>', 'PID namespace to use')
    .option('--pids-limit <int>', 'Tune container pids limit (set -1 for unlimited)', integer)
    .option('--platform <string>', 'Set platform if server is multi-platform capable')
    .option('--privileged', 'Give extended privileges to this container')
    .option('-p, --publish <list>', "Publish a container's port(s) to the host", collect)
    .option('-P, --publish-all', 'Publish all exposed ports to random ports')
    .option('--pull <string>', 'Pull image before running ("always", "missing", "never")', 'missing')
    .option('-q, --quiet', 'Suppress the pull output')
    .option('--read-only', "Mount the container's root filesystem as read only")
    .option('--restart <string>', 'Restart policy to apply when a container exits', 'no')
    .option('--rm', 'Automatically remove the container and its associated anonymous volumes when it exits')
    .option('--runtime <string>', 'Runtime to use for this container')
    .option('--security-opt <list>', 'Security Options', collect)
    .option('--shm-size <bytes>', 'Size of /dev/shm', memory)
    .option('--stop-signal <string>', 'Signal to stop the container')
    .option('--stop-timeout <int>', 'Timeout (in seconds) to stop a container', integer)
    .option('--sysctl <map>', 'Sysctl options', collect)
    .option('--tmpfs <list>', 'Mount a tmpfs directory', collect)
    .option('-t, --tty', 'Allocate a pseudo-TTY')
    .option('--ulimit <ulimit>', 'Ulimit options', collect)
    .option('-u, --user <string>', 'Username or UID (format: <name|uid>[:<group|gid>])')
    .option('--uts <string>', 'UTS namespace to use')
    .option('-v, --volume <list>', 'Bind mount a volume', collect)
    .option('--volumes-from <list>', 'Mount volumes from the specified container(s)', collect)
    .option('-w, --workdir <string>', 'Working directory inside the container');
}
