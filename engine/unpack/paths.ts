/**
 * Lexical checks of tar entry names, before any filesystem call. A name becomes a list of plain
 * components (no '', '.', '..'); `..` is applied lexically and may not climb above the root.
 * Symlinks met later, while resolving on disk, are confined separately (see root.ts).
 */
import { TsdError } from '../../shared/errors.js';

export const PATH_MAX = 4096;
export const NAME_MAX = 255;

export type UnsafeReason = 'absolute-path' | 'path-escape' | 'invalid-name' | 'hardlink-escape' | 'hardlink-missing' | 'whiteout-invalid';

export function unsafe(reason: UnsafeReason, entry: string, message: string): TsdError {
  return new TsdError('INVALID_ARGUMENT', `layer entry "${printable(entry)}": ${message}`, { detail: { reason, entry: printable(entry) } });
}

export function printable(s: string): string {
  const clean = s.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 200)}...` : clean;
}

/**
 * Split an entry name into safe components. Leading "./" is fine; an absolute name, a NUL, a
 * component longer than NAME_MAX or a `..` that climbs above the root is refused.
 */
export function entryComponents(name: string, what: 'entry' | 'hardlink' = 'entry'): string[] {
  const escape: UnsafeReason = what === 'hardlink' ? 'hardlink-escape' : 'path-escape';
  if (name.includes('\0')) throw unsafe('invalid-name', name, 'name contains a NUL byte');
  if (name.length > PATH_MAX) throw unsafe('invalid-name', name, `name is longer than ${PATH_MAX} bytes`);
  if (name.startsWith('/')) throw unsafe(what === 'hardlink' ? 'hardlink-escape' : 'absolute-path', name, 'absolute paths are not allowed');
  const out: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length === 0) throw unsafe(escape, name, '".." climbs out of the root');
      out.pop();
      continue;
    }
    if (Buffer.byteLength(part) > NAME_MAX) throw unsafe('invalid-name', name, `a component is longer than ${NAME_MAX} bytes`);
    out.push(part);
  }
  return out;
}

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_WHITEOUT = '.wh..wh..opq';
