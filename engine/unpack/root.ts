/**
 * A directory tree that may only be written from the inside (invariant 5).
 *
 * `openDir(components)` returns a file descriptor of the directory those components name, resolved
 * the way the kernel's RESOLVE_IN_ROOT does: every symlink met on the way is followed, but as if
 * the root were `/` (an absolute target starts again at the root, `..` stops at the root). The
 * returned fd is then used with the *at() calls for the final component, which is never followed.
 *
 * Two resolvers give the same result:
 * - `openat2`: one openat2(2) call with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS (Linux >= 5.6);
 * - `walk`: component by component with statx / openat(O_NOFOLLOW | O_DIRECTORY) / readlinkat,
 *   keeping a stack of open directory fds so that `..` pops instead of looking anything up. It is
 *   used when openat2 is missing (ENOSYS) and whenever directories must be created on the way.
 * Neither ever opens a path that starts outside the root fd, so nothing outside can be reached.
 */
import { closeSync, openSync, constants as fsConstants } from 'node:fs';
import * as sys from './native.js';

export type Resolver = 'openat2' | 'walk';

const MAX_SYMLINKS = 40;
const DIR_FLAGS = sys.O_RDONLY | sys.O_DIRECTORY;

let openat2Works: boolean | undefined;

export class ConfinedRoot {
  readonly fd: number;
  private resolver: Resolver;
  /** Mode for directories created implicitly (a parent the layer did not list). */
  implicitDirMode = 0o755;

  constructor(readonly path: string, resolver?: Resolver) {
    this.fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW);
    if (resolver) this.resolver = resolver;
    else this.resolver = openat2Works === false ? 'walk' : 'openat2';
  }

  get activeResolver(): Resolver {
    return this.resolver;
  }

  close(): void {
    closeSync(this.fd);
  }

  /** A new fd for the directory `components` name inside the root (the root itself for []). */
  openDir(components: readonly string[], create: boolean): number {
    if (components.length === 0) return sys.openat(this.fd, '.', DIR_FLAGS);
    if (this.resolver === 'openat2') {
      try {
        const fd = sys.openat2(this.fd, components.join('/'), DIR_FLAGS, sys.RESOLVE_IN_ROOT | sys.RESOLVE_NO_MAGICLINKS);
        openat2Works = true;
        return fd;
      } catch (err) {
        if (sys.isErrno(err, 'ENOSYS')) {
          openat2Works = false;
          this.resolver = 'walk';
        } else if (!sys.isErrno(err, 'EAGAIN') && !(create && sys.isErrno(err, 'ENOENT'))) {
          // EAGAIN: RESOLVE_IN_ROOT saw a concurrent rename; the walk is immune to that.
          throw err;
        }
      }
    }
    return this.walk(components, create);
  }

  private walk(components: readonly string[], create: boolean): number {
    const stack: number[] = [];
    const queue = components.slice();
    let hops = 0;
    try {
      while (queue.length > 0) {
        const name = queue.shift()!;
        if (name === '' || name === '.') continue;
        if (name === '..') {
          const fd = stack.pop();
          if (fd !== undefined) sys.close(fd);
          continue;
        }
        const cur = stack.at(-1) ?? this.fd;
        let st = sys.lstatat(cur, name);
        if (!st) {
          if (!create) throw Object.assign(new Error(`ENOENT: no such directory '${components.join('/')}'`), { code: 'ENOENT' });
          try {
            sys.mkdirat(cur, name, this.implicitDirMode);
          } catch (err) {
            if (!sys.isErrno(err, 'EEXIST')) throw err;
          }
          st = sys.lstatat(cur, name);
          if (!st) throw Object.assign(new Error(`ENOENT: '${name}' vanished`), { code: 'ENOENT' });
        }
        if (st.isSymlink) {
          if (++hops > MAX_SYMLINKS) throw Object.assign(new Error(`ELOOP: too many symlinks in '${components.join('/')}'`), { code: 'ELOOP' });
          const target = sys.readlinkat(cur, name);
          if (target.startsWith('/')) {
            for (const fd of stack.splice(0)) sys.close(fd);
          }
          queue.unshift(...target.split('/'));
          continue;
        }
        if (!st.isDir) throw Object.assign(new Error(`ENOTDIR: '${name}' in '${components.join('/')}' is not a directory`), { code: 'ENOTDIR' });
        // O_NOFOLLOW: if the entry was swapped for a symlink since the statx, this fails (ELOOP).
        stack.push(sys.openat(cur, name, DIR_FLAGS | sys.O_NOFOLLOW));
      }
      const top = stack.pop();
      return top ?? sys.openat(this.fd, '.', DIR_FLAGS);
    } finally {
      for (const fd of stack) sys.close(fd);
    }
  }
}

/** For tests: forget whether openat2 worked, so the next ConfinedRoot probes again. */
export function resetResolverProbe(): void {
  openat2Works = undefined;
}
