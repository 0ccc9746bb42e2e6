/**
 * Helpers for the network tests: subnets no host route uses, a manager whose every bridge, veth,
 * rule, namespace file and child process is removed in t.after (pass or fail), processes inside
 * namespaces, and the final check that a test file left nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { NetworkManager, type NetworkManagerOptions } from '../../engine/network/index.js';
import { formatCIDR, overlaps, parseCIDR, type Subnet } from '../../engine/network/cidr.js';
import { exec } from '../../engine/network/exec.js';
import { deleteTaggedRules, tagOf, taggedRules } from '../../engine/network/iptables.js';
import { deleteLink, linkKind } from '../../engine/network/links.js';
import { netnsRunDir, removeNetnsFile, withNetnsName } from '../../engine/network/netns.js';
import { readState } from '../../engine/network/state.js';
import { tempDir } from '../helpers/env.js';
import { run } from '../helpers/run.js';

const inNetnsScript = fileURLToPath(new URL('./in-netns.js', import.meta.url));

/** Everything a test file made, so its last test can prove it is all gone. */
export class Tracker {
  links = new Set<string>();
  tags = new Set<string>();
  netnsFiles = new Set<string>();
  pids = new Set<number>();
}

async function routes(): Promise<Subnet[]> {
  const { stdout } = await exec('ip', ['-j', '-4', 'route', 'show', 'table', 'all']);
  const list = JSON.parse(stdout || '[]') as Array<{ dst?: string }>;
  return list
    .map((r) => r.dst ?? '')
    .filter((d) => /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(d))
    .map((d) => parseCIDR(d.includes('/') ? d : `${d}/32`, false));
}

/** A random 10.x.y.0/`prefixLen` (16 to 24) that overlaps no host route. */
export async function freeSubnet(prefixLen = 24): Promise<string> {
  const taken = await routes();
  for (let i = 0; i < 200; i++) {
    const second = 100 + Math.floor(Math.random() * 150);
    const third = Math.floor(Math.random() * 256) & ~((1 << Math.max(0, 24 - prefixLen)) - 1) & 255;
    const candidate = parseCIDR(`10.${second}.${third}.0/${prefixLen}`);
    if (!taken.some((t) => overlaps(t, candidate))) return formatCIDR(candidate);
  }
  throw new Error('no free 10.x subnet found');
}

export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(3).toString('hex')}`;
}

/**
 * Open a manager on a fresh state dir; in t.after: stop its proxies, then remove (from its state
 * file, so it works even when the manager is broken) every rule, bridge, veth and namespace file.
 */
export async function openManager(t: TestContext, tracker: Tracker, options: Partial<NetworkManagerOptions> = {}): Promise<NetworkManager> {
  const managers: NetworkManager[] = [];
  let stateDir = options.stateDir;
  // Registered before tempDir's removal hook (hooks run in registration order): links and mounts first.
  t.after(async () => {
    for (const m of managers) await m.close().catch(() => {});
    if (stateDir !== undefined) await cleanStateDir(stateDir, tracker);
  });
  stateDir ??= join(await tempDir(t, 'tsd-net-'), 'state');
  const m = await NetworkManager.open({ defaultBridge: false, ...options, stateDir });
  managers.push(m);
  record(m, tracker);
  return m;
}

/** Remember what a manager's state names (call again after creating networks and endpoints). */
export function record(m: NetworkManager, tracker: Tracker): void {
  for (const n of m.list()) {
    tracker.tags.add(tagOf(n.Id));
    const bridge = n.Options['com.docker.network.bridge.name'] ?? `br-${n.Id.slice(0, 12)}`;
    if (n.Driver === 'bridge') tracker.links.add(bridge);
  }
}

export async function cleanStateDir(stateDir: string, tracker: Tracker): Promise<void> {
  const state = await readState(stateDir).catch(() => ({ networks: [] }));
  for (const n of state.networks) {
    tracker.tags.add(tagOf(n.id));
    await deleteTaggedRules(tagOf(n.id)).catch(() => {});
    for (const e of Object.values(n.endpoints)) {
      if (e.hostVeth !== undefined) {
        tracker.links.add(e.hostVeth);
        await deleteLink(e.hostVeth).catch(() => {});
      }
    }
    if (n.bridge !== undefined) {
      tracker.links.add(n.bridge);
      if ((await linkKind(n.bridge).catch(() => undefined)) === 'bridge') await deleteLink(n.bridge).catch(() => {});
    }
  }
  for (const nsDir of [join(stateDir, 'netns'), join(stateDir, 'netns-pool')]) {
    for (const f of await readdir(nsDir).catch(() => [] as string[])) {
      tracker.netnsFiles.add(join(nsDir, f));
      await removeNetnsFile(join(nsDir, f)).catch(() => {});
    }
  }
}

/** What is left of everything the tracker saw: links, tagged rules, namespace files, /run/netns names, processes. */
export async function leftovers(tracker: Tracker): Promise<string[]> {
  const left: string[] = [];
  for (const l of tracker.links) if ((await linkKind(l)) !== undefined) left.push(`link ${l}`);
  for (const tag of tracker.tags) for (const r of await taggedRules(tag)) left.push(`rule ${r.table}: ${r.line}`);
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  for (const f of tracker.netnsFiles) if (mounts.includes(` ${f} `)) left.push(`netns mount ${f}`);
  for (const name of await readdir(netnsRunDir).catch(() => [] as string[])) if (name.startsWith(`tsd-${process.pid}-`)) left.push(`/run/netns/${name}`);
  for (const pid of tracker.pids) {
    try {
      process.kill(pid, 0);
      left.push(`process ${pid}`);
    } catch {
      /* gone */
    }
  }
  return left;
}

/** Run one in-netns job to completion; its stdout, trimmed. */
export async function inNetns(nsPath: string, job: string, ...args: string[]): Promise<string> {
  const r = await run(process.execPath, [inNetnsScript, nsPath, job, ...args], { timeoutMs: 30_000 });
  return r.stdout.trim();
}

/** Start a server inside a namespace; stopped (by PID) in t.after. Resolves once it listens. */
export async function serveInNetns(t: TestContext, tracker: Tracker, nsPath: string, job: 'serve-tcp' | 'serve-udp', port: number, name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [inNetnsScript, nsPath, job, String(port), name], { stdio: ['ignore', 'pipe', 'pipe'] });
  tracker.pids.add(child.pid!);
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
    return new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
  });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.once('exit', (code) => reject(new Error(`${job} in ${nsPath} exited with ${code}: ${err}`)));
  });
  return child;
}

/** `ip -j` output for a namespace, through a temporary /run/netns name. */
export async function ipJson<T>(nsPath: string, ...args: string[]): Promise<T> {
  return withNetnsName(nsPath, async (name) => JSON.parse((await exec('ip', ['-n', name, '-j', ...args])).stdout || '[]') as T);
}
