/**
 * tsdockerd's settings: dockerd's flags (where dockerd has them) and the same keys in an optional
 * daemon.json (`--config-file`, default /etc/tsdocker/daemon.json when it exists). As dockerd, a
 * setting given both as a flag and in the file is an error, and so is an unknown key.
 */
import { readFile } from 'node:fs/promises';
import { Command, CommanderError, Option } from 'commander';
import { TsdError, isNotFound } from '../../shared/errors.js';
import type { Driver } from '../snapshots/index.js';
import { defaultHost, parseHost } from './hosts.js';
import { logLevelOf, type LogFormat } from './log.js';
import { daemonVersion } from './version.js';

export interface DaemonConfig {
  dataRoot: string;
  execRoot: string;
  hosts: string[];
  storageDriver: Driver;
  insecureRegistries: string[];
  maxConcurrentDownloads: number;
  maxConcurrentUploads: number;
  /** '' for none. */
  pidfile: string;
  logLevel: string;
  logFormat: LogFormat;
  debug: boolean;
  /** Seconds requests in flight get to finish on SIGTERM before they are aborted. */
  shutdownTimeout: number;
  /** dockerd's --bridge: the default bridge's interface ('none': no default bridge network). */
  bridge: string;
  /** dockerd's --bip: the default bridge's gateway address and prefix ('' = from the pools). */
  bip: string;
  /** dockerd's default-address-pools (`base=CIDR,size=N`). */
  defaultAddressPools: Array<{ base: string; size: number }>;
  /** dockerd's --cgroup-parent for containers ('' = /tsdocker). */
  cgroupParent: string;
  /**
   * Container starts prepared ahead of time: as many waiting shims (a start skips two Node
   * start-ups) and fresh network namespaces (one more). 0: none, everything made at start.
   */
  warmStarts: number;
}

export const defaultConfigFile = '/etc/tsdocker/daemon.json';

export const defaults: DaemonConfig = {
  dataRoot: '/var/lib/tsdocker',
  execRoot: '/var/run/tsdocker',
  hosts: [defaultHost],
  storageDriver: 'auto',
  insecureRegistries: [],
  maxConcurrentDownloads: 3,
  maxConcurrentUploads: 5,
  pidfile: '/var/run/tsdockerd.pid',
  logLevel: 'info',
  logFormat: 'text',
  debug: false,
  shutdownTimeout: 15,
  bridge: 'tsdocker0',
  bip: '',
  defaultAddressPools: [],
  cgroupParent: '',
  warmStarts: 2,
};

/** daemon.json key -> setting, with the value's check. */
const fileKeys: Record<string, { key: keyof DaemonConfig; parse: (v: unknown, name: string) => unknown }> = {
  'data-root': { key: 'dataRoot', parse: absolutePath },
  'exec-root': { key: 'execRoot', parse: absolutePath },
  hosts: { key: 'hosts', parse: hostList },
  'storage-driver': { key: 'storageDriver', parse: (v, n) => storageDriver(str(v, n)) },
  'insecure-registries': { key: 'insecureRegistries', parse: stringList },
  'max-concurrent-downloads': { key: 'maxConcurrentDownloads', parse: (v, n) => positive(v, n) },
  'max-concurrent-uploads': { key: 'maxConcurrentUploads', parse: (v, n) => positive(v, n) },
  pidfile: { key: 'pidfile', parse: (v, n) => (str(v, n) === '' ? '' : absolutePath(v, n)) },
  'log-level': { key: 'logLevel', parse: (v, n) => logLevel(str(v, n)) },
  'log-format': { key: 'logFormat', parse: (v, n) => logFormat(str(v, n)) },
  debug: { key: 'debug', parse: (v, n) => bool(v, n) },
  'shutdown-timeout': { key: 'shutdownTimeout', parse: (v, n) => nonNegative(v, n) },
  bridge: { key: 'bridge', parse: (v, n) => str(v, n) },
  bip: { key: 'bip', parse: (v, n) => str(v, n) },
  'default-address-pools': { key: 'defaultAddressPools', parse: addressPools },
  'cgroup-parent': { key: 'cgroupParent', parse: (v, n) => str(v, n) },
  'warm-starts': { key: 'warmStarts', parse: (v, n) => nonNegative(v, n) },
};

/** `base=172.30.0.0/16,size=24` strings (flags) or `{base, size}` objects (daemon.json). */
function addressPools(v: unknown, name: string): Array<{ base: string; size: number }> {
  if (!Array.isArray(v)) throw invalid(`${name} must be a list`);
  return v.map((item: unknown) => {
    let base: unknown;
    let size: unknown;
    if (typeof item === 'string') {
      const fields = Object.fromEntries(item.split(',').map((kv) => kv.split('=', 2) as [string, string]));
      base = fields.base;
      size = fields.size === undefined ? undefined : Number(fields.size);
    } else if (typeof item === 'object' && item !== null) ({ base, size } = item as { base?: unknown; size?: unknown });
    if (typeof base !== 'string' || typeof size !== 'number' || !Number.isInteger(size)) throw invalid(`${name}: invalid address pool ${JSON.stringify(item)} (want base=CIDR,size=N)`);
    return { base, size };
  });
}

function invalid(message: string): TsdError {
  return new TsdError('CONFIG_INVALID', message);
}

function str(v: unknown, name: string): string {
  if (typeof v !== 'string') throw invalid(`${name} must be a string`);
  return v;
}

function absolutePath(v: unknown, name: string): string {
  const s = str(v, name);
  if (!s.startsWith('/')) throw invalid(`${name} must be an absolute path, got "${s}"`);
  return s.length > 1 ? s.replace(/\/+$/, '') : s;
}

function stringList(v: unknown, name: string): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalid(`${name} must be a list of strings`);
  return v as string[];
}

/** Each host checked now, so a bad one stops the start before anything is opened. */
function hostList(v: unknown, name: string): string[] {
  const hosts = stringList(v, name);
  for (const h of hosts) parseHost(h);
  return hosts;
}

function bool(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') throw invalid(`${name} must be true or false`);
  return v;
}

function integer(v: unknown, name: string): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw invalid(`${name} must be an integer, got ${JSON.stringify(v)}`);
  return n;
}

function positive(v: unknown, name: string): number {
  const n = integer(v, name);
  if (n < 1) throw invalid(`${name} must be at least 1, got ${n}`);
  return n;
}

function nonNegative(v: unknown, name: string): number {
  const n = integer(v, name);
  if (n < 0) throw invalid(`${name} must not be negative`);
  return n;
}

function storageDriver(v: string): Driver {
  if (v === 'overlay' || v === 'overlay2') return 'overlay';
  if (v === 'vfs' || v === 'auto') return v;
  throw invalid(`unknown storage driver "${v}" (overlay, vfs)`);
}

function logLevel(v: string): string {
  if (!logLevelOf(v)) throw invalid(`unable to parse logging level: ${v}`);
  return v;
}

function logFormat(v: string): LogFormat {
  if (v !== 'text' && v !== 'json') throw invalid(`unknown log format "${v}" (text, json)`);
  return v;
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function program(): Command {
  return new Command('tsdockerd')
    .description('A container engine daemon speaking the Docker Engine API (images, containers, networks, volumes)')
    .usage('[OPTIONS]')
    .helpOption('-h, --help', 'Print usage')
    .version(`tsdockerd version ${daemonVersion}`, '-v, --version', 'Print version information and quit')
    .option('--data-root <dir>', `Root directory of persistent state (default "${defaults.dataRoot}")`)
    .option('--exec-root <dir>', `Root directory for execution state files (default "${defaults.execRoot}")`)
    .option('-H, --host <host>', `Daemon socket(s) to connect to, repeatable (default "${defaultHost}")`, collect)
    .addOption(new Option('-s, --storage-driver <driver>', 'Storage driver to use (overlay, vfs; default: overlay where it works)'))
    .option('--insecure-registry <host>', 'Registry spoken to over plain HTTP, repeatable', collect)
    .option('--max-concurrent-downloads <n>', `Max concurrent downloads per pull (default ${defaults.maxConcurrentDownloads})`)
    .option('--max-concurrent-uploads <n>', `Max concurrent uploads per push (default ${defaults.maxConcurrentUploads})`)
    .option('-p, --pidfile <file>', `Path to use for the daemon PID file (default "${defaults.pidfile}"; "" for none)`)
    .option('-l, --log-level <level>', 'Set the logging level ("debug"|"info"|"warn"|"error"|"fatal") (default "info")')
    .option('--log-format <format>', 'Set the logging format ("text"|"json") (default "text")')
    .option('-D, --debug', 'Enable debug mode')
    .option('--shutdown-timeout <seconds>', `Seconds requests get to finish on shutdown (default ${defaults.shutdownTimeout})`)
    .option('--config-file <file>', `Daemon configuration file (default "${defaultConfigFile}")`)
    .option('-b, --bridge <name>', `Attach containers to a network bridge (default "${defaults.bridge}"; "none" for no default bridge)`)
    .option('--bip <cidr>', 'Specify network bridge IP')
    .option('--default-address-pool <pool>', 'Default address pools for node specific local networks (base=CIDR,size=N), repeatable', collect)
    .option('--cgroup-parent <parent>', 'Set parent cgroup for all containers (default "/tsdocker")')
    .option('--warm-starts <n>', `Container starts prepared ahead of time: waiting shims and network namespaces (default ${defaults.warmStarts}; 0 for none)`)
    .allowExcessArguments(false)
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} });
}

/** Flag name (as in daemon.json) -> the commander option's attribute. */
const flagAttributes: Record<string, string> = {
  'data-root': 'dataRoot',
  'exec-root': 'execRoot',
  hosts: 'host',
  'storage-driver': 'storageDriver',
  'insecure-registries': 'insecureRegistry',
  'max-concurrent-downloads': 'maxConcurrentDownloads',
  'max-concurrent-uploads': 'maxConcurrentUploads',
  pidfile: 'pidfile',
  'log-level': 'logLevel',
  'log-format': 'logFormat',
  debug: 'debug',
  'shutdown-timeout': 'shutdownTimeout',
  bridge: 'bridge',
  bip: 'bip',
  'default-address-pools': 'defaultAddressPool',
  'cgroup-parent': 'cgroupParent',
  'warm-starts': 'warmStarts',
};

/** What the command line asks for: run with a config, or print something and exit. */
export type ParsedArgs = { kind: 'run'; config: DaemonConfig; configFile?: string } | { kind: 'exit'; code: number; stdout: string; stderr: string };

async function readConfigFile(path: string, explicit: boolean): Promise<Record<string, unknown> | undefined> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (err) {
    if (isNotFound(err) && !explicit) return undefined;
    throw invalid(`unable to configure the daemon: open ${path}: ${(err as Error).message}`);
  }
  if (raw.trim() === '') return {};
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch (err) {
    throw invalid(`unable to configure the daemon with file ${path}: ${(err as Error).message}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw invalid(`unable to configure the daemon with file ${path}: not a JSON object`);
  return doc as Record<string, unknown>;
}

export async function parseDaemonArgs(argv: string[]): Promise<ParsedArgs> {
  const cmd = program();
  let out = '';
  cmd.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return { kind: 'exit', code: 0, stdout: out, stderr: '' };
      return { kind: 'exit', code: 125, stdout: '', stderr: `${out || err.message}\nSee 'tsdockerd --help'.\n` };
    }
    throw err;
  }
  const opts = cmd.opts<Record<string, unknown>>();
  const config: DaemonConfig = structuredClone(defaults);
  const set = config as unknown as Record<string, unknown>;
  const explicitFile = typeof opts.configFile === 'string';
  const configFile = explicitFile ? (opts.configFile as string) : defaultConfigFile;
  const file = await readConfigFile(configFile, explicitFile);
  if (file) {
    const unknown = Object.keys(file).filter((k) => !(k in fileKeys));
    if (unknown.length > 0) throw invalid(`the following directives don't match any configuration option: ${unknown.join(', ')}`);
    const both = Object.keys(file).filter((k) => cmd.getOptionValueSource(flagAttributes[k]!) === 'cli');
    if (both.length > 0) {
      const detail = both.map((k) => `${k}: (from flag: ${JSON.stringify(opts[flagAttributes[k]!])}, from file: ${JSON.stringify(file[k])})`).join(', ');
      throw invalid(`the following directives are specified both as a flag and in the configuration file: ${detail}`);
    }
    for (const [name, value] of Object.entries(file)) {
      const row = fileKeys[name]!;
      set[row.key] = row.parse(value, name);
    }
  }
  for (const [name, attribute] of Object.entries(flagAttributes)) {
    const value = opts[attribute];
    if (value === undefined) continue;
    const row = fileKeys[name]!;
    const flag = ({ hosts: 'host', 'insecure-registries': 'insecure-registry', 'default-address-pools': 'default-address-pool' } as Record<string, string>)[name] ?? name;
    set[row.key] = row.parse(value, `--${flag}`);
  }
  if (config.hosts.length === 0) config.hosts = [defaultHost];
  if (config.debug) config.logLevel = 'debug';
  return { kind: 'run', config, ...(file ? { configFile } : {}) };
}
