/**
 * The PATH a container gets when its image has none (docker's). A file of its own so the init,
 * which looks commands up with it, does not load spec.ts (node:crypto, node:os, the errors table).
 */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
