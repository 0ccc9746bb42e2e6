/**
 * LayerWriter: turns tar entries into filesystem changes under a ConfinedRoot.
 *
 * For each entry: check its name lexically (paths.ts), open its parent directory inside the root
 * (root.ts: in-root symlink resolution, missing parents created), then create the final component
 * with an *at() call relative to that directory fd, never following it. Metadata order: create ->
 * owner -> mode (so chown cannot clear setuid/setgid) -> xattrs -> times. Directory times are
 * set at the end, after their children were written.
 *
 * Whiteouts:
 * - vfs: the root holds the lower layers, merged. `.wh.NAME` deletes NAME; `.wh..wh..opq` deletes
 *   the directory's children. Both spare what this same layer wrote (OCI: a whiteout applies to
 *   lower layers only).
 * - overlay: the root is this layer's own upper dir. `.wh.NAME` becomes a 0/0 character device;
 *   `.wh..wh..opq` becomes the xattr trusted.overlay.opaque=y on the directory.
 */
import { readdirSync, writeSync } from 'node:fs';
import { TsdError } from '../../shared/errors.js';
import * as sys from './native.js';
import { entryComponents, OPAQUE_WHITEOUT, printable, unsafe, WHITEOUT_PREFIX } from './paths.js';
import { ConfinedRoot, type Resolver } from './root.js';
import type { TarEntry, TarSink } from './tar.js';

export type ApplyMode = 'vfs' | 'overlay';

export interface WriterOptions {
  mode: ApplyMode;
  /** Create device nodes and set ownership. Defaults to "running as root". */
  privileged?: boolean;
  /** Force a path resolver (tests); default openat2 with a fallback to the walk on ENOSYS. */
  resolver?: Resolver;
  /** Refuse layers with more entries than this (default 2,000,000). */
  maxEntries?: number;
}

const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';
const MAX_WARNINGS = 100;

interface DirTimes {
  parent: string[];
  name: string;
  atime: number;
  mtime: number;
}

export class LayerWriter implements TarSink {
  readonly root: ConfinedRoot;
  readonly warnings: string[] = [];
  private warningsDropped = 0;
  private readonly mode: ApplyMode;
  private readonly privileged: boolean;
  private readonly maxEntries: number;
  /** Paths (joined components) this layer wrote, and every ancestor of them. */
  private readonly upper = new Set<string>();
  private readonly upperAncestors = new Set<string>();
  /** overlay: whiteout devices this layer created (a later same-named dir must become opaque). */
  private readonly whiteouts = new Set<string>();
  private readonly dirTimes: DirTimes[] = [];
  private entries = 0;
  // The open file whose body is being written, and its pending metadata.
  private file: { fd: number; entry: TarEntry; path: string } | undefined;
  // A one-entry cache of the last parent directory fd; dropped whenever the tree changes shape.
  private cache: { key: string; fd: number } | undefined;

  constructor(rootPath: string, options: WriterOptions) {
    this.mode = options.mode;
    this.privileged = options.privileged ?? process.getuid?.() === 0;
    this.maxEntries = options.maxEntries ?? 2_000_000;
    this.root = new ConfinedRoot(rootPath, options.resolver);
  }

  get entryCount(): number {
    return this.entries;
  }

  private warn(message: string): void {
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(message);
    else this.warningsDropped++;
  }

  // ---- TarSink ----------------------------------------------------------------------------

  entry(e: TarEntry): void {
    if (++this.entries > this.maxEntries) {
      throw new TsdError('INVALID_ARGUMENT', `layer has more than ${this.maxEntries} entries`, { detail: { reason: 'too-many-entries' } });
    }
    const parts = entryComponents(e.name);
    if (parts.length === 0) {
      if (e.type !== 'dir') throw unsafe('invalid-name', e.name, 'the root of the layer can only be a directory');
      this.applyRootDir(e);
      return;
    }
    const name = parts.at(-1)!;
    const parent = parts.slice(0, -1);
    if (name.startsWith(WHITEOUT_PREFIX)) {
      if (name === OPAQUE_WHITEOUT) this.opaque(parent, e);
      else this.whiteout(parent, name.slice(WHITEOUT_PREFIX.length), e);
      return;
    }
    const key = parts.join('/');
    const dirfd = this.parentFd(parent, true, e.name);
    const existing = sys.lstatat(dirfd, name);
    let replacedWhiteout = false;

    if (e.type === 'link') {
      this.hardlink(dirfd, name, existing, e);
      this.markUpper(parts);
      return;
    }
    if (existing && !(existing.isDir && e.type === 'dir')) {
      replacedWhiteout = this.whiteouts.has(key);
      this.removeAt(dirfd, name, existing.isDir);
    }
    this.markUpper(parts);
    switch (e.type) {
      case 'file': {
        const fd = sys.openat(dirfd, name, sys.O_WRONLY | sys.O_CREAT | sys.O_EXCL | sys.O_NOFOLLOW | sys.O_NOCTTY, 0o600);
        this.file = { fd, entry: e, path: key };
        return; // metadata when the body is complete (entryEnd)
      }
      case 'dir': {
        if (!existing || !existing.isDir) sys.mkdirat(dirfd, name, 0o700);
        const fd = sys.openat(dirfd, name, sys.O_RDONLY | sys.O_DIRECTORY | sys.O_NOFOLLOW);
        try {
          this.ownAndMode(fd, e);
          this.xattrsFd(fd, e, key);
          if (replacedWhiteout && this.mode === 'overlay') sys.fsetxattr(fd, OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
        } finally {
          sys.close(fd);
        }
        this.dirTimes.push({ parent, name, atime: e.atime ?? e.mtime, mtime: e.mtime });
        return;
      }
      case 'symlink': {
        if (e.linkname.length === 0 || e.linkname.includes('\0')) throw unsafe('invalid-name', e.name, 'invalid symlink target');
        sys.symlinkat(e.linkname, dirfd, name);
        if (this.privileged) sys.lchownat(dirfd, name, e.uid, e.gid);
        this.xattrsAt(dirfd, name, e, key);
        sys.utimensat(dirfd, name, { atime: e.atime ?? e.mtime, mtime: e.mtime });
        return;
      }
      case 'char':
      case 'block':
      case 'fifo': {
        if (e.type !== 'fifo' && !this.privileged) {
          throw new TsdError('UNSUPPORTED', `layer entry "${printable(e.name)}": creating device nodes needs root`, { detail: { reason: 'device-unprivileged', entry: printable(e.name) } });
        }
        const ifmt = e.type === 'char' ? sys.S_IFCHR : e.type === 'block' ? sys.S_IFBLK : sys.S_IFIFO;
        sys.mknodat(dirfd, name, ifmt | 0o600, e.type === 'fifo' ? 0n : sys.makedev(e.devmajor, e.devminor));
        if (this.privileged) sys.lchownat(dirfd, name, e.uid, e.gid);
        sys.fchmodat(dirfd, name, e.mode);
        this.xattrsAt(dirfd, name, e, key);
        sys.utimensat(dirfd, name, { atime: e.atime ?? e.mtime, mtime: e.mtime });
        return;
      }
    }
  }

  data(chunk: Uint8Array): void {
    const f = this.file;
    if (!f) return;
    let off = 0;
    while (off < chunk.length) off += writeSync(f.fd, chunk, off, chunk.length - off);
  }

  entryEnd(): void {
    const f = this.file;
    if (!f) return;
    this.file = undefined;
    try {
      this.ownAndMode(f.fd, f.entry);
      this.xattrsFd(f.fd, f.entry, f.path);
      sys.utimensat(f.fd, null, { atime: f.entry.atime ?? f.entry.mtime, mtime: f.entry.mtime });
    } finally {
      sys.close(f.fd);
    }
  }

  /** After the last entry: directory times (their children no longer change them). */
  finish(): void {
    for (const d of this.dirTimes.reverse()) {
      let fd: number;
      try {
        fd = this.root.openDir(d.parent, false);
      } catch {
        continue; // replaced or removed later in the layer
      }
      try {
        const st = sys.lstatat(fd, d.name);
        if (st?.isDir) sys.utimensat(fd, d.name, d);
      } finally {
        sys.close(fd);
      }
    }
    if (this.warningsDropped > 0) this.warnings.push(`... and ${this.warningsDropped} more warnings`);
  }

  close(): void {
    if (this.file) {
      sys.close(this.file.fd);
      this.file = undefined;
    }
    this.dropCache();
    this.root.close();
  }

  // ---- entries --------------------------------------------------------------------------------

  private applyRootDir(e: TarEntry): void {
    const fd = sys.openat(this.root.fd, '.', sys.O_RDONLY | sys.O_DIRECTORY);
    try {
      this.ownAndMode(fd, e);
      this.xattrsFd(fd, e, '');
      sys.utimensat(fd, null, { atime: e.atime ?? e.mtime, mtime: e.mtime });
    } finally {
      sys.close(fd);
    }
  }

  private hardlink(dirfd: number, name: string, existing: sys.Stat | undefined, e: TarEntry): void {
    const target = entryComponents(e.linkname, 'hardlink');
    if (target.length === 0) throw unsafe('hardlink-escape', e.name, 'a hardlink cannot point to the root');
    let tdir: number;
    try {
      tdir = this.root.openDir(target.slice(0, -1), false);
    } catch (err) {
      if (sys.isErrno(err, 'ENOENT', 'ENOTDIR')) throw unsafe('hardlink-missing', e.name, `hardlink target "${printable(e.linkname)}" does not exist in the layer or below`);
      throw err;
    }
    try {
      const tname = target.at(-1)!;
      const tst = sys.lstatat(tdir, tname);
      if (!tst) throw unsafe('hardlink-missing', e.name, `hardlink target "${printable(e.linkname)}" does not exist in the layer or below`);
      if (tst.isDir) throw unsafe('invalid-name', e.name, `hardlink target "${printable(e.linkname)}" is a directory`);
      if (existing) {
        if (!existing.isDir && existing.ino === tst.ino) return; // already that file
        this.removeAt(dirfd, name, existing.isDir);
      }
      sys.linkat(tdir, tname, dirfd, name);
    } finally {
      sys.close(tdir);
    }
  }

  private whiteout(parent: string[], target: string, e: TarEntry): void {
    if (target === '' || target === '.' || target === '..' || target.startsWith(WHITEOUT_PREFIX)) {
      throw unsafe('whiteout-invalid', e.name, 'invalid whiteout name');
    }
    const key = [...parent, target].join('/');
    if (this.upper.has(key)) return; // written by this same layer: a whiteout only hides lower layers
    if (this.mode === 'overlay') {
      const dirfd = this.parentFd(parent, true, e.name);
      const existing = sys.lstatat(dirfd, target);
      if (existing) this.removeAt(dirfd, target, existing.isDir);
      sys.mknodat(dirfd, target, sys.S_IFCHR, 0n);
      this.whiteouts.add(key);
      this.markAncestors(parent);
      return;
    }
    let dirfd: number;
    try {
      dirfd = this.parentFd(parent, false, e.name);
    } catch (err) {
      if (sys.isErrno(err, 'ENOENT', 'ENOTDIR')) return; // nothing below to hide
      throw err;
    }
    const existing = sys.lstatat(dirfd, target);
    if (existing) this.removeLower(dirfd, target, existing.isDir, key);
  }

  private opaque(dir: string[], e: TarEntry): void {
    const key = dir.join('/');
    this.dropCache();
    const fd = this.root.openDir(dir, true);
    try {
      if (this.mode === 'overlay') {
        sys.fsetxattr(fd, OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
      } else {
        for (const child of readdirSync(`/proc/self/fd/${fd}`)) {
          const ckey = key ? `${key}/${child}` : child;
          if (this.upper.has(ckey)) continue;
          const st = sys.lstatat(fd, child);
          if (st) this.removeLower(fd, child, st.isDir, ckey);
        }
      }
    } catch (err) {
      if (err instanceof TsdError) throw err;
      throw new TsdError('UNKNOWN', `layer entry "${printable(e.name)}": cannot make the directory opaque: ${(err as Error).message}`, { cause: err });
    } finally {
      sys.close(fd);
    }
    this.markAncestors(dir);
  }

  // ---- helpers ----------------------------------------------------------------------------

  private markUpper(parts: string[]): void {
    this.upper.add(parts.join('/'));
    this.markAncestors(parts.slice(0, -1));
  }

  private markAncestors(dir: string[]): void {
    let acc = '';
    for (const p of dir) {
      acc = acc ? `${acc}/${p}` : p;
      this.upperAncestors.add(acc);
    }
  }

  private parentFd(parent: string[], create: boolean, entryName: string): number {
    const key = parent.join('/');
    if (this.cache?.key === key) return this.cache.fd;
    let fd: number;
    try {
      fd = this.root.openDir(parent, create);
    } catch (err) {
      if (!create) throw err;
      if (sys.isErrno(err, 'ENOTDIR')) throw unsafe('invalid-name', entryName, 'a parent is not a directory');
      if (sys.isErrno(err, 'ELOOP')) throw unsafe('invalid-name', entryName, 'too many levels of symlinks in the parent path');
      throw err;
    }
    this.dropCache();
    this.cache = { key, fd };
    return fd;
  }

  private dropCache(): void {
    if (this.cache) {
      sys.close(this.cache.fd);
      this.cache = undefined;
    }
  }

  /**
   * Remove whatever is at `name` (a directory recursively). The parent-fd cache stays valid: its
   * key is the parent of every path changed through it, and a change at P/name never changes what
   * P resolves to. Only opaque() changes paths below another directory, and it drops the cache.
   */
  private removeAt(dirfd: number, name: string, isDir: boolean): void {
    if (isDir) this.removeTree(dirfd, name, undefined);
    else sys.unlinkat(dirfd, name, false);
  }

  /** Remove lower-layer content at `name`, keeping anything this layer wrote below it. */
  private removeLower(dirfd: number, name: string, isDir: boolean, key: string): void {
    if (isDir) this.removeTree(dirfd, name, key);
    else sys.unlinkat(dirfd, name, false);
  }

  /**
   * rm -r of `name` inside `dirfd`, never following symlinks (each level is opened with
   * O_NOFOLLOW relative to its parent fd). With `key`, entries this layer wrote are kept.
   * Returns whether `name` was removed.
   */
  private removeTree(dirfd: number, name: string, key: string | undefined): boolean {
    if (key !== undefined && this.upper.has(key)) return false;
    const st = sys.lstatat(dirfd, name);
    if (!st) return true;
    if (!st.isDir) {
      sys.unlinkat(dirfd, name, false);
      return true;
    }
    const fd = sys.openat(dirfd, name, sys.O_RDONLY | sys.O_DIRECTORY | sys.O_NOFOLLOW);
    let all = true;
    try {
      for (const child of readdirSync(`/proc/self/fd/${fd}`)) {
        if (!this.removeTree(fd, child, key === undefined ? undefined : `${key}/${child}`)) all = false;
      }
    } finally {
      sys.close(fd);
    }
    if (all && (key === undefined || !this.upperAncestors.has(key))) {
      sys.unlinkat(dirfd, name, true);
      return true;
    }
    return false;
  }

  private ownAndMode(fd: number, e: TarEntry): void {
    if (this.privileged) sys.fchown(fd, e.uid, e.gid);
    sys.fchmod(fd, e.mode);
  }

  private skipXattr(key: string, entry: string): boolean {
    // A layer must not forge overlayfs metadata (redirects, metacopy, opaque): it could make the
    // merged view show lower files elsewhere. Whiteouts and opaque dirs travel as .wh. entries.
    if (key.startsWith('trusted.overlay.') || key.startsWith('user.overlay.')) {
      this.warn(`${printable(entry)}: xattr ${key} ignored (overlayfs metadata is not taken from layers)`);
      return true;
    }
    return false;
  }

  private xattrsFd(fd: number, e: TarEntry, entry: string): void {
    for (const [key, value] of e.xattrs) {
      if (this.skipXattr(key, entry)) continue;
      try {
        sys.fsetxattr(fd, key, value);
      } catch (err) {
        this.warn(`${printable(e.name)}: xattr ${key} not set (${(err as Error & { code?: string }).code ?? (err as Error).message})`);
      }
    }
  }

  private xattrsAt(dirfd: number, name: string, e: TarEntry, entry: string): void {
    for (const [key, value] of e.xattrs) {
      if (this.skipXattr(key, entry)) continue;
      try {
        sys.lsetxattrat(dirfd, name, key, value);
      } catch (err) {
        this.warn(`${printable(e.name)}: xattr ${key} not set (${(err as Error & { code?: string }).code ?? (err as Error).message})`);
      }
    }
  }
}
