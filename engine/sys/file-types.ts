/** The file type bits of st_mode (Linux's S_IF* values), shared by every tree walker. */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

/** The S_IF* type of a mode, from a plain or a bigint stat. */
export function fileTypeOf(mode: number | bigint): number {
  return Number(mode) & S_IFMT;
}
