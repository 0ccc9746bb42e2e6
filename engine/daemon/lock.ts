/**
 * One daemon per data root: an exclusive flock(2) on `<data-root>/tsdockerd.lock`, held for the
 * life of the process (the kernel drops it when the process dies, so a crash never leaves a stale
 * lock), with the holder's PID written inside for the message a second daemon prints.
 * Also dockerd's `--pidfile`: refused while the PID it names is alive.
 */
import { closeSync, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { constants } from 'node:os';
import { TsdError, isNotFound } from '../../shared/errors.js';
import { fail, koffi, libc } from '../sys/libc.js';

const LOCK_EX = 2;
const LOCK_NB = 4;
const flock = libc.func('int flock(int fd, int operation)');

export interface DataRootLock {
  release(): void;
}

export async function lockDataRoot(dataRoot: string): Promise<DataRootLock> {
  await mkdir(dataRoot, { recursive: true, mode: 0o711 });
  const path = join(dataRoot, 'tsdockerd.lock');
  const fd = openSync(path, 'a+', 0o600);
  if (flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    const errno = koffi.errno();
    closeSync(fd);
    if (errno === constants.errno.EWOULDBLOCK) {
      let holder = '';
      try {
        holder = readFileSync(path, 'utf8').trim();
      } catch {
        /* unreadable: say less */
      }
      throw new TsdError('ALREADY_EXISTS', `another tsdockerd${holder ? ` (pid ${holder})` : ''} is already using data root ${dataRoot}`);
    }
    fail('flock', path);
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      try {
        ftruncateSync(fd, 0);
      } catch {
        /* the lock goes with the descriptor anyway */
      }
      closeSync(fd);
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Write `--pidfile`; refused (dockerd's words) while another live process is named in it. */
export async function writePidFile(path: string): Promise<() => Promise<void>> {
  try {
    const pid = Number((await readFile(path, 'utf8')).trim());
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
      throw new TsdError('ALREADY_EXISTS', `pid file found, ensure tsdockerd is not running or delete ${path} (process with PID ${pid} is still running)`);
    }
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${process.pid}`);
  return async () => {
    try {
      if (Number((await readFile(path, 'utf8')).trim()) === process.pid) await rm(path, { force: true });
    } catch {
      /* already gone */
    }
  };
}
