/**
 * libc through koffi, shared by the engine's native bindings: the loaded library, Node-style
 * errors from errno (`code` = errno name, `errno`, `syscall`, `path`), and extended attributes.
 */
import { createRequire } from 'node:module';
import { constants as osConstants } from 'node:os';

const require = createRequire(import.meta.url);
type Koffi = typeof import('koffi');
// koffi is CommonJS with a native addon; require keeps its loading synchronous on every thread.
export const koffi = require('koffi') as Koffi;
export const libc = koffi.load('libc.so.6');

const errnoNames = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

export interface SysError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
}

/** Throw the error the last failed call left in errno. */
export function fail(syscall: string, path?: string): never {
  const errno = koffi.errno();
  const code = errnoNames.get(errno) ?? `E${errno}`;
  const err = new Error(`${code}: ${syscall}${path === undefined ? '' : ` '${path}'`} failed`) as SysError;
  err.code = code;
  err.errno = errno;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  throw err;
}

export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export function isErrno(err: unknown, ...codes: string[]): boolean {
  const code = errnoCode(err);
  return code !== undefined && codes.includes(code);
}

const x = {
  lsetxattr: libc.func('int lsetxattr(const char *path, const char *name, const uint8_t *value, size_t size, int flags)'),
  llistxattr: libc.func('long llistxattr(const char *path, _Out_ uint8_t *list, size_t size)'),
  lgetxattr: libc.func('long lgetxattr(const char *path, const char *name, _Out_ uint8_t *value, size_t size)'),
};

/** All xattrs of a path, not following a final symlink (a filesystem without xattrs: none). */
export function lgetxattrs(path: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let size = Number(x.llistxattr(path, null, 0));
  if (size < 0) {
    if (koffi.errno() === osConstants.errno.ENOTSUP) return out;
    fail('llistxattr', path);
  }
  if (size === 0) return out;
  const list = Buffer.alloc(size);
  size = Number(x.llistxattr(path, list, list.length));
  if (size < 0) fail('llistxattr', path);
  for (const key of list.subarray(0, size).toString('utf8').split('\0')) {
    if (!key) continue;
    const len = Number(x.lgetxattr(path, key, null, 0));
    if (len < 0) fail('lgetxattr', path);
    const value = Buffer.alloc(len);
    const m = len === 0 ? 0 : Number(x.lgetxattr(path, key, value, value.length));
    if (m < 0) fail('lgetxattr', path);
    out.set(key, value.subarray(0, m));
  }
  return out;
}

/** Set one xattr on a path without following a final symlink; `reportAs` names it in errors. */
export function lsetxattr(path: string, key: string, value: Uint8Array, reportAs: string = path): void {
  if (x.lsetxattr(path, key, value, value.length, 0) !== 0) fail('lsetxattr', reportAs);
}
