/**
 * What a command failure prints and the exit status it gives, as the docker CLI does: daemon
 * errors are `Error response from daemon: MESSAGE`, usage errors exit 1, flag errors 125.
 */
export class CliError extends Error {
  readonly exitCode: number;
  /** The daemon's HTTP status, for errors that came from the daemon (404: no such image...). */
  readonly status: number | undefined;
  /** The daemon could not be reached at all (docker's IsErrConnectionFailed). */
  readonly connectionFailed: boolean;

  constructor(message: string, options: { exitCode?: number; status?: number; connectionFailed?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.exitCode = options.exitCode ?? 1;
    this.status = options.status;
    this.connectionFailed = options.connectionFailed ?? false;
  }
}

/** An error answer of the daemon (status >= 400): docker prints its `message`. */
export function daemonError(status: number, message: string): CliError {
  return new CliError(`Error response from daemon: ${message}`, { status });
}

export function isDaemonNotFound(err: unknown): boolean {
  return err instanceof CliError && err.status === 404;
}

/** docker's StatusError for bad flags: the message, then the command's usage, exit 125. */
export const flagErrorExitCode = 125;

/**
 * docker's StatusError without a message: the command failed with this exit status and has
 * already said why (or the status is the container's own, as `run` and `exec` exit with it).
 */
export class ExitStatus extends CliError {
  constructor(code: number) {
    super('', { exitCode: code === 0 ? 1 : code });
    this.name = 'ExitStatus';
  }
}
