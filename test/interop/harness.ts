// Shared pieces of the interop tests: the registry under test, client wrappers, HTTP checks.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { startDistribution } from '../helpers/distribution.js';
import { hasProgram } from '../helpers/env.js';
import { MT, sha256, type TestImage, type TestIndex } from '../helpers/images.js';
import { startRegistry } from '../helpers/registry.js';
import { run, type RunOptions, type RunResult } from '../helpers/run.js';

type Hooks = { after(fn: () => unknown): void };

export interface Target {
  /** 'tsdocker' or 'distribution' */
  name: string;
  url: string;
  host: string;
  rootDirectory: string;
  stop(): Promise<void>;
}

/**
 * The registry under test: ours, unless TSDOCKER_INTEROP_TARGET=distribution (used to check the
 * harness itself against the reference implementation).
 */
export async function startTarget(t: Hooks, options: { rootDirectory?: string } = {}): Promise<Target> {
  if (process.env.TSDOCKER_INTEROP_TARGET === 'distribution') {
    const d = await startDistribution(t, options);
    return { name: 'distribution', url: d.url, host: d.host, rootDirectory: d.rootDirectory, stop: d.stop };
  }
  const r = await startRegistry(t, options);
  return { name: 'tsdocker', url: r.url, host: r.host, rootDirectory: r.rootDirectory, stop: r.stop };
}

export const ALL_MANIFEST_TYPES = [MT.ociManifest, MT.ociIndex, MT.dockerManifest, MT.dockerManifestList].join(', ');

export function skopeo(args: string[], options?: RunOptions): Promise<RunResult> {
  // --insecure-policy: no dependence on /etc/containers/policy.json.
  return run('skopeo', ['--insecure-policy', ...args], options);
}

/** A podman confined to temp storage (vfs driver) that is removed when the hooks run. */
export async function privatePodman(hooks: Hooks): Promise<(args: string[], options?: RunOptions) => Promise<RunResult>> {
  const dir = await mkdtemp(join(tmpdir(), 'tsd-podman-'));
  for (const sub of ['root', 'runroot', 'tmp']) await mkdir(join(dir, sub));
  const global = [
    '--root', join(dir, 'root'),
    '--runroot', join(dir, 'runroot'),
    '--tmpdir', join(dir, 'tmp'),
    '--storage-driver', 'vfs',
    '--events-backend', 'file',
    '--cgroup-manager', 'cgroupfs',
  ];
  const podman = (args: string[], options?: RunOptions) => run('podman', [...global, ...args], options);
  hooks.after(async () => {
    await podman(['rmi', '--all', '--force'], { allowFailure: true, timeoutMs: 60_000 });
    await rm(dir, { recursive: true, force: true });
  });
  return podman;
}

export interface ManifestResponse {
  status: number;
  digest: string | null;
  contentType: string | null;
  bytes: Buffer;
}

export async function getManifest(url: string, repo: string, ref: string, accept = ALL_MANIFEST_TYPES): Promise<ManifestResponse> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${ref}`, { headers: { accept } });
  return {
    status: res.status,
    digest: res.headers.get('docker-content-digest'),
    contentType: res.headers.get('content-type'),
    bytes: Buffer.from(await res.arrayBuffer()),
  };
}

export async function getBlob(url: string, repo: string, digest: string): Promise<Buffer> {
  const res = await fetch(`${url}/v2/${repo}/blobs/${digest}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  assert.equal(res.status, 200, `GET blob ${repo}@${digest}: ${res.status} ${bytes.toString('utf8', 0, 300)}`);
  return bytes;
}

export async function listTags(url: string, repo: string): Promise<string[]> {
  const res = await fetch(`${url}/v2/${repo}/tags/list`);
  const text = await res.text();
  assert.equal(res.status, 200, `GET tags of ${repo}: ${res.status} ${text}`);
  return JSON.parse(text).tags ?? [];
}

/**
 * The registry serves exactly the manifest bytes of `expected` under `ref` (tag or digest), and
 * every blob the manifest references, byte for byte.
 */
export async function assertServes(url: string, repo: string, ref: string, expected: TestImage | TestIndex): Promise<void> {
  const top = expected.kind === 'index' ? expected.index : expected.manifest;
  for (const r of new Set([ref, top.digest])) {
    const m = await getManifest(url, repo, r);
    assert.equal(m.status, 200, `GET manifest ${repo}:${r}: ${m.status} ${m.bytes.toString('utf8', 0, 300)}`);
    assert.equal(m.digest, top.digest, `Docker-Content-Digest of ${repo}:${r}`);
    assert.equal(sha256(m.bytes), top.digest, `manifest bytes of ${repo}:${r}`);
    assert.equal(m.contentType, top.mediaType, `Content-Type of ${repo}:${r}`);
  }
  const images = expected.kind === 'index' ? expected.images : [expected];
  for (const img of images) {
    if (expected.kind === 'index') {
      const m = await getManifest(url, repo, img.manifest.digest);
      assert.equal(m.status, 200);
      assert.ok(m.bytes.equals(img.manifest.bytes), `child manifest ${img.manifest.digest} bytes`);
    }
    for (const b of [img.config, ...img.layers]) {
      assert.equal(sha256(await getBlob(url, repo, b.digest)), b.digest, `blob ${b.digest} content`);
    }
  }
}

/** Digest of what the registry serves for repo:ref (with every manifest type accepted). */
export async function digestOf(url: string, repo: string, ref: string): Promise<string> {
  const m = await getManifest(url, repo, ref);
  assert.equal(m.status, 200, `GET manifest ${repo}:${ref}: ${m.status} ${m.bytes.toString('utf8', 0, 300)}`);
  assert.equal(sha256(m.bytes), m.digest, `Docker-Content-Digest of ${repo}:${ref} matches its bytes`);
  return m.digest!;
}

/** Parse `ctr images ls` into ref -> target digest. */
export function parseCtrImages(stdout: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of stdout.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length >= 3 && cols[2]!.startsWith('sha256:')) map.set(cols[0]!, cols[2]!);
  }
  return map;
}

/**
 * Hooks that run when the whole test file ends (for one dockerd per file). Call at module top level.
 */
export function fileScope(): Hooks {
  const fns: Array<() => unknown> = [];
  after(async () => {
    for (const fn of fns.reverse()) await fn();
  });
  return { after: (fn) => void fns.push(fn) };
}

/** Whether this machine can run a private dockerd (the tests still call need() to skip or fail). */
export function canRunDockerd(): boolean {
  return hasProgram('dockerd') && hasProgram('docker') && process.getuid?.() === 0;
}

/** Per-test limit, so that a hung client or registry fails the test instead of the CI run. */
export const TEST_TIMEOUT = { timeout: 240_000 };
