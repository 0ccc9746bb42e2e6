/** The runtime's errors: TsdErrors (shared code table) with a precise `reason`, like SnapshotError. */
import { TsdError, type ErrorCode } from '../../shared/errors.js';

export type RuntimeErrorReason =
  | 'invalid-spec' // a bad run option or image config value
  | 'not-found' // no such container state dir
  | 'not-running' // the operation needs a running container
  | 'running' // the operation needs a stopped container (docker answers 409)
  | 'start-failed' // the container process could not be started (exit code in detail)
  | 'exec-failed'
  | 'system'; // a syscall or the shim failed

const codes: Record<RuntimeErrorReason, ErrorCode> = {
  'invalid-spec': 'INVALID_ARGUMENT',
  'not-found': 'NOT_FOUND',
  'not-running': 'ALREADY_EXISTS', // 409 Conflict, as docker answers
  running: 'ALREADY_EXISTS',
  'start-failed': 'INVALID_ARGUMENT',
  'exec-failed': 'INVALID_ARGUMENT',
  system: 'UNKNOWN',
};

export class RuntimeError extends TsdError {
  readonly reason: RuntimeErrorReason;
  /** For start-failed / exec-failed: docker's exit code (126 not executable, 127 not found, ...). */
  readonly exitCode: number | undefined;
  constructor(reason: RuntimeErrorReason, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(codes[reason], message, { cause: options?.cause, detail: { reason, exitCode: options?.exitCode } });
    this.name = 'RuntimeError';
    this.reason = reason;
    this.exitCode = options?.exitCode;
  }
}

export function isRuntimeError(err: unknown, reason?: RuntimeErrorReason): err is RuntimeError {
  return err instanceof RuntimeError && (reason === undefined || err.reason === reason);
}
