/**
 * iptables rules for bridge networks, as docker makes them: outbound NAT (MASQUERADE of the
 * subnet leaving through any other interface), FORWARD acceptance (or isolation for an internal
 * network), and per published port a DNAT from the host's addresses to the container plus the
 * FORWARD and hairpin rules it needs. Rules go straight into the built-in chains and every one
 * carries the comment `tsdocker:<network id>`, so removing a network (or cleaning up after a crash)
 * finds all of its rules by that tag, whatever created them. No chains of our own: nothing shared
 * between networks (or between engines on one host) has to be created or removed.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { exec } from './exec.js';

export type Table = 'filter' | 'nat';

export interface Rule {
  table: Table;
  chain: string;
  /** The match and target, without the comment (added from the tag). */
  spec: string[];
  /** Insert at the top of the chain (drops); otherwise appended (accepts). */
  insert?: boolean;
}

export function tagOf(networkId: string): string {
  return `tsdocker:${networkId}`;
}

/** The rule with the tag's comment match just before its target (`-j`). */
function withTag(rule: Rule, tag: string): string[] {
  const j = rule.spec.indexOf('-j');
  return [...rule.spec.slice(0, j), '-m', 'comment', '--comment', tag, ...rule.spec.slice(j)];
}

async function iptables(table: Table, args: string[], allowFailure = false): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return exec('iptables', ['-w', '-t', table, ...args], { allowFailure });
}

/** Add rules unless present (a restart re-applies the same set). Order is kept for inserts too. */
export async function ensureRules(rules: Rule[], tag: string): Promise<void> {
  for (const rule of [...rules.filter((r) => !r.insert), ...rules.filter((r) => r.insert).reverse()]) {
    const spec = withTag(rule, tag);
    const present = await iptables(rule.table, ['-C', rule.chain, ...spec], true);
    if (present.code === 0) continue;
    await iptables(rule.table, [rule.insert ? '-I' : '-A', rule.chain, ...(rule.insert ? ['1'] : []), ...spec]);
  }
}

/** Delete rules (each as often as it occurs); missing ones are fine. */
export async function deleteRules(rules: Rule[], tag: string): Promise<void> {
  for (const rule of rules) {
    const spec = withTag(rule, tag);
    for (let i = 0; i < 16; i++) if ((await iptables(rule.table, ['-D', rule.chain, ...spec], true)).code !== 0) break;
  }
}

/** Split an `iptables -S` line, keeping "quoted words" whole. */
export function splitRuleLine(line: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!);
  return out;
}

/** Every rule in both tables carrying `tag`, as `iptables -S` prints it. */
export async function taggedRules(tag: string): Promise<Array<{ table: Table; line: string }>> {
  const found: Array<{ table: Table; line: string }> = [];
  for (const table of ['filter', 'nat'] as const) {
    const { stdout } = await iptables(table, ['-S']);
    for (const line of stdout.split('\n')) {
      const words = splitRuleLine(line);
      const at = words.indexOf('--comment');
      if (words[0] === '-A' && at > 0 && words[at + 1] === tag) found.push({ table, line });
    }
  }
  return found;
}

/** Delete every rule carrying `tag`. */
export async function deleteTaggedRules(tag: string): Promise<number> {
  const found = await taggedRules(tag);
  for (const { table, line } of found) {
    const words = splitRuleLine(line);
    await iptables(table, ['-D', ...words.slice(1)], true);
  }
  return found.length;
}

export interface NetworkRuleSpec {
  bridge: string;
  subnet: string;
  internal: boolean;
  masquerade: boolean;
}

/**
 * Drops go to the top of FORWARD and accepts to the end, so that every network's drops come before
 * every network's accepts whatever the order they were made in. The drop of a non-internal network
 * refuses new connections entering its bridge from anywhere else unless they were DNATed (published
 * ports): this isolates networks from each other (docker's ISOLATION chains) and from hosts routing
 * straight to container addresses, while replies and outbound traffic pass.
 */
export function networkRules(n: NetworkRuleSpec): Rule[] {
  if (n.internal) {
    return [
      { table: 'filter', chain: 'FORWARD', insert: true, spec: ['-i', n.bridge, '!', '-o', n.bridge, '-j', 'DROP'] },
      { table: 'filter', chain: 'FORWARD', insert: true, spec: ['!', '-i', n.bridge, '-o', n.bridge, '-j', 'DROP'] },
      { table: 'filter', chain: 'FORWARD', spec: ['-i', n.bridge, '-o', n.bridge, '-j', 'ACCEPT'] },
    ];
  }
  const rules: Rule[] = [
    { table: 'filter', chain: 'FORWARD', insert: true, spec: ['!', '-i', n.bridge, '-o', n.bridge, '-m', 'conntrack', '!', '--ctstate', 'RELATED,ESTABLISHED,DNAT', '-j', 'DROP'] },
    { table: 'filter', chain: 'FORWARD', spec: ['-i', n.bridge, '-j', 'ACCEPT'] },
    { table: 'filter', chain: 'FORWARD', spec: ['-o', n.bridge, '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT'] },
  ];
  if (n.masquerade) rules.push({ table: 'nat', chain: 'POSTROUTING', spec: ['-s', n.subnet, '!', '-o', n.bridge, '-j', 'MASQUERADE'] });
  return rules;
}

export interface PortRuleSpec {
  bridge: string;
  protocol: 'tcp' | 'udp';
  hostIp: string;
  hostPort: number;
  containerIp: string;
  containerPort: number;
}

/**
 * DNAT for a published port. Traffic from the bridge itself and to loopback addresses is left to
 * the userland proxy (DNAT of 127.0.0.1 would need route_localnet), as docker does.
 */
export function portRules(p: PortRuleSpec): Rule[] {
  const to = `${p.containerIp}:${p.containerPort}`;
  const anyHost = p.hostIp === '0.0.0.0';
  const loopbackHost = p.hostIp.startsWith('127.');
  const proto = ['-p', p.protocol];
  const rules: Rule[] = [];
  if (!loopbackHost) {
    const dst = anyHost ? [] : ['-d', `${p.hostIp}/32`];
    rules.push({ table: 'nat', chain: 'PREROUTING', spec: [...dst, '-m', 'addrtype', '--dst-type', 'LOCAL', '!', '-i', p.bridge, ...proto, '--dport', String(p.hostPort), '-j', 'DNAT', '--to-destination', to] });
    const outDst = anyHost ? ['!', '-d', '127.0.0.0/8'] : dst;
    rules.push({ table: 'nat', chain: 'OUTPUT', spec: [...outDst, '-m', 'addrtype', '--dst-type', 'LOCAL', ...proto, '--dport', String(p.hostPort), '-j', 'DNAT', '--to-destination', to] });
  }
  rules.push(
    { table: 'filter', chain: 'FORWARD', spec: ['-d', `${p.containerIp}/32`, '!', '-i', p.bridge, '-o', p.bridge, ...proto, '--dport', String(p.containerPort), '-j', 'ACCEPT'] },
    { table: 'nat', chain: 'POSTROUTING', spec: ['-s', `${p.containerIp}/32`, '-d', `${p.containerIp}/32`, ...proto, '--dport', String(p.containerPort), '-j', 'MASQUERADE'] },
  );
  return rules;
}

/** Turn on IPv4 forwarding (as docker, never turned off again: other tools may rely on it). */
export async function enableIpForward(): Promise<void> {
  const path = '/proc/sys/net/ipv4/ip_forward';
  if ((await readFile(path, 'utf8')).trim() !== '1') await writeFile(path, '1\n');
}
