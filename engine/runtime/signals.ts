/** Signal names and numbers as docker accepts them: "SIGTERM", "TERM", "15" (also "SIGRTMIN+3"). */
import { constants } from 'node:os';

const byName = constants.signals as Record<string, number>;
const SIGRTMIN = 34;
const SIGRTMAX = 64;

/** The number of a signal given by name or number; undefined if it is not one. */
export function signalNumber(input: string | number): number | undefined {
  if (typeof input === 'number') return Number.isInteger(input) && input > 0 && input <= SIGRTMAX ? input : undefined;
  const s = input.trim().toUpperCase();
  if (/^[0-9]+$/.test(s)) return signalNumber(Number(s));
  const name = s.startsWith('SIG') ? s : `SIG${s}`;
  const rt = /^SIGRT(MIN|MAX)([+-][0-9]+)?$/.exec(name);
  if (rt) {
    const n = (rt[1] === 'MIN' ? SIGRTMIN : SIGRTMAX) + Number(rt[2] ?? 0);
    return n >= SIGRTMIN && n <= SIGRTMAX ? n : undefined;
  }
  return byName[name];
}

/** The canonical name (SIGTERM) of a signal number, or "SIG<n>" for real-time ones. */
export function signalName(n: number): string {
  for (const [name, v] of Object.entries(byName)) if (v === n) return name;
  return `SIG${n}`;
}
