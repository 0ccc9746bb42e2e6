/**
 * The last steps of the init and of an exec process, once they stand in the container's
 * namespaces and root: user and groups from the image's /etc/passwd and /etc/group, working
 * directory, environment, capabilities, no_new_privs, the terminal, then execve. Synchronous.
 */
import { readFileSync, statSync } from 'node:fs';
import { posix } from 'node:path';
import { constants as osConstants } from 'node:os';
import { capabilityMask, dropBoundingSet, lastCapability, setProcessCapabilities } from './capabilities.js';
import type { ProcessSpec } from './spec.js';
import { DEFAULT_PATH } from './default-path.js';
import * as sys from './sys-runtime.js';
import { resolveUser, UserLookupError } from './user.js';

/** A failure before execve, with docker's exit code (126 cannot run, 127 not found, 128 other). */
export class StartError extends Error {
  constructor(message: string, readonly exitCode: number) {
    super(message);
  }
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function envValue(env: string[], key: string): string | undefined {
  const entry = env.find((e) => e.startsWith(`${key}=`));
  return entry === undefined ? undefined : entry.slice(key.length + 1);
}

/** Go's exec.LookPath in the container: a name without a slash is searched in PATH. */
export function lookPath(file: string, env: string[]): string {
  const executable = (p: string): boolean => {
    try {
      const st = statSync(p);
      return st.isFile() && (st.mode & 0o111) !== 0;
    } catch {
      return false;
    }
  };
  if (file.includes('/')) {
    let st;
    try {
      st = statSync(file);
    } catch {
      throw new StartError(`exec: "${file}": stat ${file}: no such file or directory`, 127);
    }
    if (st.isDirectory()) throw new StartError(`exec: "${file}": is a directory`, 126);
    return file;
  }
  for (const dir of (envValue(env, 'PATH') ?? DEFAULT_PATH).split(':')) {
    const p = posix.join(dir || '.', file);
    if (executable(p)) return p;
  }
  throw new StartError(`exec: "${file}": executable file not found in $PATH`, 127);
}

export function execContainerProcess(p: ProcessSpec): never {
  let user;
  try {
    user = resolveUser(p.user, readOptional('/etc/passwd'), readOptional('/etc/group'), p.groupAdd);
  } catch (err) {
    if (err instanceof UserLookupError) throw new StartError(err.message, 127);
    throw err;
  }
  const env = envValue(p.env, 'HOME') === undefined ? [...p.env, `HOME=${user.home}`] : p.env;
  try {
    sys.chdir(p.cwd);
  } catch (err) {
    throw new StartError(`chdir to cwd ("${p.cwd}") set in config.json failed: ${(err as Error).message}`, 128);
  }
  const keep = capabilityMask(p.capabilities);
  sys.umask(0o022);
  dropBoundingSet(keep, lastCapability());
  sys.setgroups(user.groups);
  sys.setresgid(user.gid);
  sys.setresuid(user.uid);
  setProcessCapabilities(keep, user.uid);
  if (p.noNewPrivileges) sys.setNoNewPrivs();
  const path = lookPath(p.args[0]!, env);
  // Set last: credential changes clear it. The container dies with its shim, never orphaned.
  sys.setParentDeathSignal(osConstants.signals.SIGKILL);
  if (p.tty) sys.setControllingTerminal(0);
  // libuv marks 0, 1 and 2 close-on-exec; the program needs them.
  for (const fd of [0, 1, 2]) sys.setCloseOnExec(fd, false);
  try {
    return sys.execve(path, p.args, env);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'EACCES') throw new StartError(`exec: "${p.args[0]}": permission denied`, 126);
    if (code === 'ENOEXEC') throw new StartError(`exec: "${p.args[0]}": exec format error`, 126);
    if (code === 'ENOENT') throw new StartError(`exec: "${p.args[0]}": no such file or directory`, 127);
    throw err;
  }
}
