// The daemons the container tests run against, as a list of factories: a private real dockerd,
// and tsdockerd. Each suite starts its daemon, our registry on loopback, both CLIs, and loads the
// busybox image (named under the loopback registry, so that nothing can ever be pulled from the
// Internet). A case that needs an endpoint the daemon lacks (tsdockerd's container API is being
// written) runs only once the daemon answers that endpoint's listing with 200.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, type TestContext } from 'node:test';
import { startDockerd } from '../helpers/dockerd.js';
import { hasProgram, need, tempDir } from '../helpers/env.js';
import { startRegistry, type RunningRegistry } from '../helpers/registry.js';
import { startTsdockerd } from '../helpers/tsdockerd.js';
import { writeBusyboxArchive } from './busybox-image.js';
import { clis, show, type Clis, type DaemonEndpoint } from './harness.js';

type Hooks = { after(fn: () => unknown): void };

export interface DaemonFactory {
  name: string;
  /** Programs the daemon needs besides the docker CLI. */
  programs: string[];
  start(hooks: Hooks): Promise<DaemonEndpoint>;
}

export const daemonFactories: DaemonFactory[] = [
  { name: 'dockerd', programs: ['dockerd'], start: (hooks) => startDockerd(hooks) },
  { name: 'tsdockerd', programs: [], start: (hooks) => startTsdockerd(hooks) },
];

/** The API listings a group of cases needs. */
export type Capability = 'containers' | 'networks' | 'volumes';
const probes: Record<Capability, string> = { containers: '/containers/json', networks: '/networks', volumes: '/volumes' };

function status(host: string, path: string): Promise<number> {
  const socketPath = host.replace(/^unix:\/\//, '');
  return new Promise((resolve) => {
    const req = request({ socketPath, path: `/v1.41${path}`, method: 'GET', timeout: 5000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end();
  });
}

export interface Suite {
  daemon: DaemonFactory;
  endpoint: DaemonEndpoint;
  cli: Clis;
  registry: RunningRegistry;
  /** The busybox image's reference (on the loopback registry, also pushed there). */
  image: string;
  imageId: string;
  work: string;
  capabilities: Set<Capability>;
}

/**
 * Start `daemon` for the enclosing describe block; `ready(t, ...needs)` gives the suite, or
 * undefined after skipping the test (missing programs, or a capability the daemon lacks).
 */
export function useDaemon(daemon: DaemonFactory): (t: TestContext, ...needs: Capability[]) => Suite | undefined {
  const cleanups: Array<() => unknown> = [];
  const hooks: Hooks = { after: (fn) => void cleanups.push(fn) };
  let suite: Suite | undefined;
  let failure: Error | undefined;
  const programs = ['docker', ...daemon.programs];
  const runnable = () => process.getuid?.() === 0 && programs.every(hasProgram);
  before(async () => {
    if (!runnable()) return;
    try {
      const endpoint = await daemon.start(hooks);
      const registry = await startRegistry(hooks);
      const cli = await clis(hooks, endpoint);
      const work = await tempDir(hooks, 'tsd-cli-ctr-');
      const image = `${registry.host}/tsdtest/busybox:latest`;
      const archive = join(work, 'busybox.tar');
      const built = await writeBusyboxArchive(archive, [image]);
      const loaded = await cli.docker(['load', '-i', archive]);
      assert.equal(loaded.code, 0, show(loaded));
      const pushed = await cli.docker(['push', image]);
      assert.equal(pushed.code, 0, show(pushed));
      const capabilities = new Set<Capability>();
      for (const [capability, path] of Object.entries(probes) as Array<[Capability, string]>) {
        if ((await status(endpoint.host, path)) === 200) capabilities.add(capability);
      }
      suite = { daemon, endpoint, cli, registry, image, imageId: built.config.digest, work, capabilities };
    } catch (err) {
      failure = err as Error;
    }
  }, { timeout: 180_000 });
  after(async () => {
    for (const fn of cleanups.reverse()) await fn();
  });
  return (t, ...needs) => {
    if (!need(t, { programs, root: true })) return undefined;
    if (failure) throw failure;
    assert.ok(suite, `${daemon.name} did not start`);
    const missing = needs.filter((n) => !suite!.capabilities.has(n));
    if (missing.length > 0) {
      t.skip(`${daemon.name} does not serve ${missing.map((m) => `GET ${probes[m]}`).join(', ')} yet`);
      return undefined;
    }
    return suite;
  };
}

/** A name no other test uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Math.random().toString(16).slice(2, 10)}`;
}
