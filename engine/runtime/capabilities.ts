/**
 * Linux capabilities by name, docker's default set, and the drop sequence the init and exec
 * processes run before execve.
 */
import { readFileSync } from 'node:fs';
import * as sys from './sys-runtime.js';

/** Capability numbers (linux/capability.h), in order. */
export const capabilityNames = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

/** docker's default capabilities (moby's oci/caps/defaults.go). */
export const dockerDefaultCapabilities = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Normalise 'net_admin' / 'NET_ADMIN' / 'CAP_NET_ADMIN' to 'CAP_NET_ADMIN'; undefined if unknown. */
export function normaliseCapability(name: string): string | undefined {
  const upper = name.toUpperCase();
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  return (capabilityNames as readonly string[]).includes(full) ? full : undefined;
}

/** The bit mask of a list of capability names (already normalised). */
export function capabilityMask(names: readonly string[]): bigint {
  let mask = 0n;
  for (const n of names) {
    const bit = (capabilityNames as readonly string[]).indexOf(n);
    if (bit < 0) throw new Error(`unknown capability ${n}`);
    mask |= 1n << BigInt(bit);
  }
  return mask;
}

/** docker's `--cap-add` / `--cap-drop` on top of the defaults ('ALL' allowed in both). */
export function effectiveCapabilities(add: readonly string[] = [], drop: readonly string[] = []): string[] {
  const all = [...capabilityNames] as string[];
  const norm = (list: readonly string[]): string[] | 'ALL' => {
    if (list.some((n) => n.toUpperCase() === 'ALL')) return 'ALL';
    return list.map((n) => {
      const c = normaliseCapability(n);
      if (!c) throw new Error(`unknown capability: "${n}"`);
      return c;
    });
  };
  const a = norm(add);
  const d = norm(drop);
  let set = new Set<string>(a === 'ALL' ? all : [...dockerDefaultCapabilities, ...a]);
  if (d === 'ALL') set = new Set(a === 'ALL' ? [] : a);
  else for (const n of d) set.delete(n);
  return all.filter((n) => set.has(n));
}

/** The highest capability the running kernel knows. */
export function lastCapability(): number {
  try {
    return Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim());
  } catch {
    return capabilityNames.length - 1;
  }
}

/**
 * Step 1 (still root, before switching user): drop every capability outside `keep` from the
 * bounding set (needs CAP_SETPCAP, so it comes first).
 */
export function dropBoundingSet(keep: bigint, lastCap: number): void {
  for (let cap = 0; cap <= lastCap; cap++) {
    if ((keep & (1n << BigInt(cap))) === 0n && sys.capbsetRead(cap)) sys.capbsetDrop(cap);
  }
}

/**
 * Step 2 (after setuid): as docker does, root keeps `keep` as its effective and permitted sets and
 * any other user has none (setuid away from 0 has already cleared them) (the bounding set still limits what a setuid binary could gain);
 * inheritable and ambient are empty.
 */
export function setProcessCapabilities(keep: bigint, uid: number): void {
  const sets = uid === 0 ? keep : 0n;
  sys.capset({ effective: sets, permitted: sets, inheritable: 0n });
  sys.clearAmbientCaps();
}
