/**
 * Exec instances (`docker exec`): created with their settings, started once (attached over a
 * hijacked connection, or detached), inspected for their exit code. They are forgotten with
 * their container.
 */
import { randomBytes } from 'node:crypto';
import { TsdError } from '../../../shared/errors.js';
import { parseDetachKeys } from '../../runtime/detach-keys.js';
import { isRuntimeError, type ExecSession } from '../../runtime/index.js';
import type { ContainerManager } from './manager.js';

export interface ExecConfig {
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Tty?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
  ConsoleSize?: [number, number] | null;
}

export interface ExecInstance {
  id: string;
  containerId: string;
  config: ExecConfig;
  running: boolean;
  started: boolean;
  exitCode: number | null;
  pid: number;
  session?: ExecSession;
}

export type ExecStart = { session: ExecSession; exit: Promise<number> } | { error: string; exitCode: number };

export class ExecStore {
  private readonly execs = new Map<string, ExecInstance>();

  constructor(private readonly containers: ContainerManager) {}

  async create(containerInput: string, config: ExecConfig): Promise<ExecInstance> {
    const containerId = this.containers.resolveId(containerInput);
    if (!(await this.containers.isRunning(containerId))) throw new TsdError('ALREADY_EXISTS', `Container ${containerId} is not running`);
    if (!config.Cmd || config.Cmd.length === 0) throw new TsdError('INVALID_ARGUMENT', 'No exec command specified');
    if (config.DetachKeys && parseDetachKeys(config.DetachKeys) === undefined) {
      throw new TsdError('INVALID_ARGUMENT', `Invalid escape keys (${config.DetachKeys}) provided`);
    }
    const exec: ExecInstance = { id: randomBytes(32).toString('hex'), containerId, config, running: false, started: false, exitCode: null, pid: 0 };
    this.execs.set(exec.id, exec);
    this.containers.addExec(containerId, exec.id);
    return exec;
  }

  get(id: string): ExecInstance {
    const e = this.execs.get(id);
    if (!e) throw new TsdError('NOT_FOUND', `No such exec instance: ${id}`);
    return e;
  }

  /** Start the process; a failure to run it is an outcome (its exit code recorded), not a throw. */
  async start(id: string, options: { tty?: boolean; consoleSize?: { rows: number; cols: number } } = {}): Promise<ExecStart> {
    const exec = this.get(id);
    if (exec.started) throw new TsdError('ALREADY_EXISTS', `Error: Exec command ${id} has already run`);
    if (!(await this.containers.isRunning(exec.containerId))) throw new TsdError('ALREADY_EXISTS', `Container ${exec.containerId} is not running`);
    exec.started = true;
    const c = exec.config;
    const size = options.consoleSize ?? (c.ConsoleSize && c.ConsoleSize[0] > 0 ? { rows: c.ConsoleSize[0], cols: c.ConsoleSize[1] } : undefined);
    let session: ExecSession;
    try {
      session = await this.containers.runtimeOf(exec.containerId).exec({
        cmd: c.Cmd!,
        env: c.Env ?? [],
        ...(c.User ? { user: c.User } : {}),
        ...(c.WorkingDir ? { workdir: c.WorkingDir } : {}),
        tty: options.tty ?? c.Tty ?? false,
        stdin: c.AttachStdin ?? false,
        privileged: c.Privileged ?? false,
        ...(size ? { consoleSize: size } : {}),
      });
    } catch (err) {
      if (isRuntimeError(err, 'exec-failed')) {
        exec.exitCode = err.exitCode ?? 126;
        return { error: `OCI runtime exec failed: exec failed: unable to start container process: ${err.message}: unknown`, exitCode: exec.exitCode };
      }
      exec.started = false;
      throw err;
    }
    exec.session = session;
    exec.running = true;
    exec.pid = session.pid;
    const exit = session.exit.then(
      (code) => {
        exec.exitCode = code;
        return code;
      },
      () => {
        exec.exitCode = 126;
        return 126;
      },
    ).finally(() => {
      exec.running = false;
      exec.session = undefined;
    });
    return { session, exit };
  }

  resize(id: string, size: { rows: number; cols: number }): void {
    const exec = this.get(id);
    if (!exec.session) throw new TsdError('ALREADY_EXISTS', `Exec ${id} is not running`);
    exec.session.resize(size);
  }

  inspect(id: string): Record<string, unknown> {
    const e = this.get(id);
    const cmd = e.config.Cmd ?? [];
    return {
      CanRemove: false,
      ContainerID: e.containerId,
      DetachKeys: e.config.DetachKeys ?? '',
      ExitCode: e.exitCode,
      ID: e.id,
      OpenStderr: e.config.AttachStderr ?? false,
      OpenStdin: e.config.AttachStdin ?? false,
      OpenStdout: e.config.AttachStdout ?? false,
      ProcessConfig: { arguments: cmd.slice(1), entrypoint: cmd[0] ?? '', privileged: e.config.Privileged ?? false, tty: e.config.Tty ?? false, user: e.config.User ?? '' },
      Running: e.running,
      Pid: e.pid,
    };
  }

  /** Forget the exec instances of a removed container. */
  forgetContainer(containerId: string): void {
    for (const [id, e] of this.execs) if (e.containerId === containerId) this.execs.delete(id);
  }
}
