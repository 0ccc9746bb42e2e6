/**
 * What a command runs with: the output streams and whether they are terminals, the environment,
 * the docker config location and the daemon client (made on first use, so `--help` and usage
 * errors never need a daemon).
 */
import type { Readable, Writable } from 'node:stream';
import { dockerConfigPath, type DockerConfigOptions } from '../client/credentials.js';
import { resolveDaemonHost } from './daemon-host.js';
import { EngineApi } from './engine-api.js';

export interface CliStreams {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable;
}

export interface GlobalOptions {
  host?: string;
  config?: string;
}

export class CliContext {
  readonly stdin: CliStreams['stdin'];
  readonly stdout: CliStreams['stdout'];
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
  readonly version: string;
  private globals: GlobalOptions = {};
  private client: EngineApi | undefined;

  constructor(streams: CliStreams, env: NodeJS.ProcessEnv, version: string) {
    this.stdin = streams.stdin;
    this.stdout = streams.stdout;
    this.stderr = streams.stderr;
    this.env = env;
    this.version = version;
  }

  setGlobals(globals: GlobalOptions): void {
    this.globals = globals;
    this.client = undefined;
  }

  get api(): EngineApi {
    this.client ??= new EngineApi(resolveDaemonHost(this.globals.host, this.env), { userAgent: `tsdocker-cli/${this.version}` });
    return this.client;
  }

  /** `--config DIR`, else `DOCKER_CONFIG`, else `~/.docker`. */
  get dockerConfig(): DockerConfigOptions {
    const options: DockerConfigOptions = { env: this.env };
    if (this.globals.config) options.path = `${this.globals.config.replace(/\/+$/, '')}/config.json`;
    return options;
  }

  get dockerConfigPath(): string {
    return dockerConfigPath(this.dockerConfig);
  }

  get stdoutIsTerminal(): boolean {
    return this.stdout.isTTY === true;
  }

  get stdinIsTerminal(): boolean {
    return this.stdin.isTTY === true;
  }

  terminalWidth(): number {
    return this.stdout.columns ?? 0;
  }

  /** End the process now (docker's os.Exit): only for the third SIGINT while signals are proxied. */
  forceExit(code: number): never {
    process.exit(code);
  }

  out(text: string): void {
    this.stdout.write(text);
  }

  err(text: string): void {
    this.stderr.write(text);
  }
}
