/** The `platform` query parameter (`linux/amd64`, `linux/arm64/v8`, `arm64`), as containerd's platforms.Parse. */
import type { Platform } from '../../shared/manifest.js';
import { hostPlatform } from '../images/record.js';
import { badParameter } from './errors.js';

const archAliases: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386' };
const knownOs = new Set(['linux', 'windows', 'darwin', 'freebsd']);

export function parsePlatform(input: string): Platform | undefined {
  const value = input.trim();
  if (value === '') return undefined;
  const parts = value.toLowerCase().split('/');
  const invalid = () => badParameter(`"${input}": unknown operating system or architecture: invalid argument`);
  if (parts.length > 3 || parts.some((p) => !/^[a-z0-9][a-z0-9._-]*$/.test(p))) throw invalid();
  const arch = (a: string) => archAliases[a] ?? a;
  if (parts.length === 1) {
    if (knownOs.has(parts[0]!)) return { os: parts[0]!, architecture: hostPlatform.architecture, ...(hostPlatform.variant ? { variant: hostPlatform.variant } : {}) };
    return { os: 'linux', architecture: arch(parts[0]!) };
  }
  if (!knownOs.has(parts[0]!)) throw invalid();
  const out: Platform = { os: parts[0]!, architecture: arch(parts[1]!) };
  if (parts[2]) out.variant = parts[2];
  else if (parts[1] === 'aarch64') out.variant = 'v8';
  return out;
}
