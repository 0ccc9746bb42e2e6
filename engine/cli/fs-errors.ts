/** File errors in the words Go uses (`open /x: no such file or directory`), as docker prints them. */
import { CliError } from './cli-error.js';

const reasons: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EEXIST: 'file exists',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
};

export function fsError(op: string, path: string, err: unknown): CliError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return new CliError(`${op} ${path}: ${reasons[code] ?? (err as Error).message}`, { cause: err });
}
