/**
 * The daemon's containers: create (image -> snapshot -> runtime state dir -> record), start
 * (networks, then the runtime's shim), stop / kill / restart / remove, wait conditions, attach
 * before or after start, restart policies with docker's backoff, `--rm`, rename, and the
 * reconciliation after a daemon restart (running containers are watched again; those that
 * exited meanwhile are cleaned up, removed or restarted as their settings say).
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isNotFound, isTsdError, TsdError } from '../../../shared/errors.js';
import { prepareContainerRootfs, removeContainerRootfs } from '../../images/container-rootfs.js';
import type { EngineContext } from '../../images/engine-context.js';
import { unpackImage } from '../../images/unpack-image.js';
import { readConfig } from '../../images/views.js';
import type { NetworkManager } from '../../network/index.js';
import { buildSpec, createContainer, isRuntimeError, listContainers, newContainerId, reattach, RuntimeError, type AttachOptions, type AttachSession, type Container, type ExitStatus, type InspectedState, type WarmPool } from '../../runtime/index.js';
import { signalNumber } from '../../runtime/signals.js';
import type { EventLog } from '../events.js';
import { lookupError } from '../image-names.js';
import type { Logger } from '../log.js';
import type { VolumeStore } from '../volumes/store.js';
import { checkContainerName, generateName } from './names.js';
import { connectNetworks, networksToJoin, primaryNetwork, releaseNetworks } from './networking.js';
import { planContainer, runOptionsOf } from './plan.js';
import { readRecord, RECORD_FILE, writeRecord, type ContainerRecord, type NetworkChoice } from './record.js';
import { nextDelay, shouldRestart } from './restart-policy.js';
import type { CreateContainerBody } from './types.js';
import { statusOf, type LiveInfo } from './views.js';

export interface ContainerManagerOptions {
  engine: EngineContext;
  /** The network manager, opened on first use (a daemon that only handles images never touches the host's network). */
  network: () => Promise<NetworkManager>;
  volumes: VolumeStore;
  events: EventLog;
  log: Logger;
  /** Where the runtime's state dirs and the records live (`<data-root>/containers`). */
  stateRoot: string;
  cgroupParent?: string;
  pool?: WarmPool;
}

interface PendingAttach {
  options: AttachOptions;
  resolve(session: AttachSession): void;
  reject(err: unknown): void;
}

interface Entry {
  record: ContainerRecord;
  runtime: Container;
  monitor?: AbortController;
  /** Resolves once the current run's exit has been handled (networks released, waiters told). */
  runDone?: Promise<void>;
  restarting: boolean;
  restartTimer?: NodeJS.Timeout;
  restartDelay: number;
  removing: boolean;
  starting?: Promise<void>;
  lastExit?: ExitStatus;
  exitWaiters: Array<(s: ExitStatus) => void>;
  removeWaiters: Array<(s: ExitStatus | undefined) => void>;
  pendingAttaches: PendingAttach[];
  execIds: Set<string>;
}

const notModified = (message: string): TsdError => new TsdError('INVALID_ARGUMENT', message, { status: 304 });

export class ContainerManager {
  private readonly entries = new Map<string, Entry>();
  private readonly names = new Map<string, string>();
  private closing = false;
  private networkManager: NetworkManager | undefined;

  private constructor(private readonly o: ContainerManagerOptions) {}

  static async open(options: ContainerManagerOptions): Promise<ContainerManager> {
    const m = new ContainerManager(options);
    await m.restore();
    return m;
  }

  private async net(): Promise<NetworkManager> {
    this.networkManager ??= await this.o.network();
    return this.networkManager;
  }

  // ---- lookups -------------------------------------------------------------------------------

  /** docker's lookup: full ID, then name (with or without slash), then a unique ID prefix. */
  private entry(input: string): Entry {
    const byId = this.entries.get(input);
    if (byId) return byId;
    const name = input.startsWith('/') ? input.slice(1) : input;
    const named = this.names.get(name);
    if (named) return this.entries.get(named)!;
    if (/^[0-9a-f]+$/.test(input)) {
      const matches = [...this.entries.keys()].filter((id) => id.startsWith(input));
      if (matches.length > 1) throw new TsdError('INVALID_ARGUMENT', `multiple IDs found with provided prefix: ${input}`);
      if (matches.length === 1) return this.entries.get(matches[0]!)!;
    }
    throw new TsdError('NOT_FOUND', `No such container: ${input}`);
  }

  resolveId(input: string): string {
    return this.entry(input).record.id;
  }

  record(input: string): ContainerRecord {
    return structuredClone(this.entry(input).record);
  }

  runtimeOf(input: string): Container {
    return this.entry(input).runtime;
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  /** IDs of the containers whose image is `imageId`. */
  usingImage(imageId: string): Array<{ id: string; running: boolean }> {
    return [...this.entries.values()].filter((e) => e.record.imageId === imageId).map((e) => ({ id: e.record.id, running: e.monitor !== undefined }));
  }

  /** IDs of the containers that mount volume `name`. */
  usingVolume(name: string): string[] {
    return [...this.entries.values()].filter((e) => e.record.mounts.some((m) => m.Type === 'volume' && m.Name === name)).map((e) => e.record.id);
  }

  async live(input: string): Promise<LiveInfo> {
    const e = this.entry(input);
    let state = await e.runtime.inspectState();
    const running = state.status === 'running';
    // A failed start: the daemon's full message (as the start's error said it), not the runtime's.
    if (!state.startedAt && e.lastExit?.error !== undefined) state = { ...state, error: e.lastExit.error };
    return {
      state,
      restarting: e.restarting,
      removing: e.removing,
      networks: running ? (this.networkManager?.networksOf(e.record.id) ?? {}) : {},
      ports: running ? (this.networkManager?.publishedPorts(e.record.id) ?? {}) : {},
      execIds: [...e.execIds],
      stateDir: e.runtime.stateDir,
      logPath: e.runtime.logPath,
      driver: this.o.engine.snapshots.name,
      sandboxKey: primaryNetwork(e.record) === 'host' || !this.networkManager ? '' : this.networkManager.netnsPath(e.record.id),
    };
  }

  async isRunning(input: string): Promise<boolean> {
    return (await this.entry(input).runtime.inspectState()).status === 'running';
  }

  addExec(containerId: string, execId: string): void {
    this.entry(containerId).execIds.add(execId);
  }

  dropExec(containerId: string, execId: string): void {
    this.entries.get(containerId)?.execIds.delete(execId);
  }

  private attributes(e: Entry, extra: Record<string, string> = {}): Record<string, string> {
    return { ...(e.record.config.Labels ?? {}), image: e.record.config.Image ?? e.record.imageId, name: e.record.name, ...extra };
  }

  private event(e: Entry, action: string, extra: Record<string, string> = {}): void {
    this.o.events.emit('container', action, e.record.id, this.attributes(e, extra));
  }

  private async save(e: Entry): Promise<void> {
    await writeRecord(e.runtime.stateDir, e.record);
  }

  // ---- create --------------------------------------------------------------------------------

  async create(body: CreateContainerBody, requestedName: string | undefined): Promise<{ id: string; warnings: string[] }> {
    const { engine, volumes } = this.o;
    const network = await this.net();
    const imageRef = body.Image ?? '';
    if (imageRef === '') throw new TsdError('INVALID_ARGUMENT', 'Config cannot be empty in order to create a container');
    let image;
    try {
      image = engine.images.resolve(imageRef).image;
    } catch (err) {
      throw lookupError(imageRef, err);
    }
    const imageConfig = await readConfig(engine.content, image);
    const plan = planContainer(body, imageConfig.config);
    for (const name of networksToJoin(network, Object.keys(plan.networks))) network.inspect(name);

    const id = newContainerId();
    const name = requestedName ? checkContainerName(requestedName) : generateName((n) => this.names.has(n));
    const holder = this.names.get(name);
    if (holder) {
      throw new TsdError('ALREADY_EXISTS', `Conflict. The container name "/${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    this.names.set(name, id);
    const undo: Array<() => Promise<unknown>> = [async () => this.names.delete(name)];
    try {
      const top = await unpackImage(engine, image);
      const snapshotKey = `containers/${id}`;
      const rootfs = await prepareContainerRootfs(engine, snapshotKey, top, { 'tsdocker.container': id });
      undo.push(() => removeContainerRootfs(engine, snapshotKey));
      const anonymous: string[] = [];
      for (const m of plan.mounts) {
        if (m.Type !== 'volume') continue;
        const { volume, created } = await volumes.create(m.Name ? { Name: m.Name } : {});
        if (!m.Name) anonymous.push(volume.Name);
        if (created) {
          undo.push(() => volumes.remove(volume.Name, { force: true }));
          this.o.events.emit('volume', 'create', volume.Name, { driver: 'local' });
        }
        m.Name = volume.Name;
        m.Source = volume.Mountpoint;
      }
      const record: ContainerRecord = {
        version: 1,
        id,
        name,
        created: new Date().toISOString(),
        imageId: image.id,
        config: { ...plan.config, Image: imageRef },
        hostConfig: plan.hostConfig,
        networks: plan.networks,
        path: plan.path,
        args: plan.args,
        snapshotKey,
        mounts: plan.mounts,
        anonymousVolumes: anonymous,
        restartCount: 0,
        manuallyStopped: false,
      };
      const run = runOptionsOf(record, plan.tmpfs);
      run.id = id;
      run.network = primaryNetwork(record) === 'host' ? 'host' : { netnsPath: network.netnsPath(id) };
      const spec = buildSpec(rootfs, {}, run);
      record.config.Hostname = spec.hostname;
      const runtime = await createContainer(spec, { stateRoot: this.o.stateRoot, ...(this.o.cgroupParent ? { cgroupParent: this.o.cgroupParent } : {}) });
      undo.push(() => runtime.remove({ force: true }));
      await writeRecord(runtime.stateDir, record);
      const e: Entry = { record, runtime, restarting: false, restartDelay: 0, removing: false, exitWaiters: [], removeWaiters: [], pendingAttaches: [], execIds: new Set() };
      this.entries.set(id, e);
      this.event(e, 'create');
      return { id, warnings: [] };
    } catch (err) {
      for (const step of undo.reverse()) await step().catch(() => {});
      throw err;
    }
  }

  // ---- start, attach -------------------------------------------------------------------------

  async start(input: string): Promise<void> {
    const e = this.entry(input);
    if (e.removing) throw new TsdError('ALREADY_EXISTS', `cannot start a container marked for removal`);
    if (e.starting) return e.starting;
    e.starting = this.doStart(e).finally(() => {
      e.starting = undefined;
    });
    return e.starting;
  }

  private async doStart(e: Entry, fromPolicy = false): Promise<void> {
    const state = await e.runtime.inspectState();
    if (state.status === 'running') throw notModified('container already started');
    if (e.restartTimer) {
      clearTimeout(e.restartTimer);
      e.restartTimer = undefined;
    }
    e.restarting = false;
    if (!fromPolicy) {
      e.record.manuallyStopped = false;
      e.restartDelay = 0;
    }
    await this.save(e);
    const pending = e.pendingAttaches.splice(0);
    try {
      await connectNetworks(await this.net(), e.record, e.runtime.stateDir, e.runtime.spec.hostname);
      await e.runtime.start({ ...(this.o.pool ? { pool: this.o.pool } : {}), holdOutput: pending.length > 0 });
    } catch (err) {
      await releaseNetworks(await this.net(), e.record.id).catch(() => {});
      for (const p of pending) p.reject(err);
      const failure = startError(err);
      const status: ExitStatus = { exitCode: isRuntimeError(err) ? (err.exitCode ?? 128) : 128, oomKilled: false, finishedAt: new Date().toISOString(), error: failure.message };
      // As dockerd: the container stays "created" with the exit code and error in its state, and
      // a wait begun before the start (docker run's) is not answered with the failure: it goes
      // on until the next real exit or the removal (--rm), which answer without an error.
      e.lastExit = status;
      if (e.record.hostConfig.AutoRemove && !this.closing) void this.remove(e.record.id, { force: true, volumes: true }).catch(() => {});
      throw failure;
    }
    this.watch(e);
    this.event(e, 'start');
    let first = true;
    for (const p of pending) {
      e.runtime.attach({ ...p.options, fromStart: first }).then(p.resolve, p.reject);
      first = false;
    }
  }

  /**
   * Stream the container's stdio. Before it starts, the session waits for the start (and gets
   * its output from the first byte); `signal` gives up waiting.
   */
  async attach(input: string, options: AttachOptions, signal?: AbortSignal): Promise<AttachSession> {
    const e = this.entry(input);
    const state = await e.runtime.inspectState();
    if (state.status === 'running') return e.runtime.attach(options);
    return new Promise<AttachSession>((resolve, reject) => {
      const pending: PendingAttach = { options, resolve, reject };
      e.pendingAttaches.push(pending);
      signal?.addEventListener('abort', () => {
        const i = e.pendingAttaches.indexOf(pending);
        if (i >= 0) e.pendingAttaches.splice(i, 1);
        reject(signal.reason);
      }, { once: true });
    });
  }

  async resize(input: string, size: { rows: number; cols: number }): Promise<void> {
    const e = this.entry(input);
    if ((await e.runtime.inspectState()).status !== 'running') throw new TsdError('ALREADY_EXISTS', `Container ${e.record.id} is not running`);
    const session = await e.runtime.attach({ stdin: false, stdout: false, stderr: false });
    session.resize(size);
    session.detach();
  }

  // ---- exits ---------------------------------------------------------------------------------

  private watch(e: Entry): void {
    const ac = new AbortController();
    e.monitor = ac;
    let done!: () => void;
    e.runDone = new Promise<void>((r) => (done = r));
    e.runtime.wait({ signal: ac.signal }).then(
      async (status) => {
        if (e.monitor !== ac) return;
        e.monitor = undefined;
        try {
          await this.onExit(e, status);
        } catch (err) {
          this.o.log.warn({ err, container: e.record.id }, 'handling a container exit failed');
        } finally {
          done();
        }
      },
      (err: unknown) => {
        if (!ac.signal.aborted) this.o.log.warn({ err, container: e.record.id }, 'watching a container failed');
        done();
      },
    );
  }

  private async onExit(e: Entry, status: ExitStatus): Promise<void> {
    const id = e.record.id;
    if (status.oomKilled) this.event(e, 'oom');
    const state = await e.runtime.inspectState();
    const ranFor = Date.parse(status.finishedAt) - Date.parse(state.startedAt ?? status.finishedAt);
    this.event(e, 'die', { exitCode: String(status.exitCode), execDuration: String(Math.max(0, Math.floor(ranFor / 1000))) });
    await releaseNetworks(await this.net(), id).catch((err: unknown) => this.o.log.warn({ err, container: id }, 'releasing the networks of a container failed'));
    e.lastExit = status;
    for (const w of e.exitWaiters.splice(0)) w(status);
    if (e.removing || this.closing) return;
    if (e.record.hostConfig.AutoRemove) {
      await this.remove(id, { force: true, volumes: true }).catch((err: unknown) => this.o.log.warn({ err, container: id }, 'removing a --rm container failed'));
      return;
    }
    this.scheduleRestart(e, status.exitCode, ranFor);
  }

  private scheduleRestart(e: Entry, exitCode: number, ranFor: number): void {
    if (!shouldRestart(e.record.hostConfig.RestartPolicy, exitCode, e.record.restartCount, e.record.manuallyStopped)) return;
    e.restartDelay = nextDelay(e.restartDelay, ranFor);
    e.restarting = true;
    e.restartTimer = setTimeout(() => {
      e.restartTimer = undefined;
      if (this.closing || e.removing || !e.restarting) return;
      e.record.restartCount++;
      e.starting = this.doStart(e, true)
        .catch((err: unknown) => {
          e.restarting = false;
          this.o.log.warn({ err, container: e.record.id }, 'restarting a container failed');
        })
        .finally(() => {
          e.starting = undefined;
        });
    }, e.restartDelay);
  }

  /** Until the current run's exit has been handled (at once when not running). */
  private async settled(e: Entry): Promise<void> {
    if (e.starting) await e.starting.catch(() => {});
    if (e.runDone) await e.runDone;
  }

  /** Block until a condition: `not-running` (default), `next-exit` or `removed`; the exit status. */
  async wait(input: string, condition: string, signal?: AbortSignal): Promise<ExitStatus | undefined> {
    const e = this.entry(input);
    if (!['', 'not-running', 'next-exit', 'removed'].includes(condition)) throw new TsdError('INVALID_ARGUMENT', `invalid condition: "${condition}"`);
    return new Promise<ExitStatus | undefined>((resolve, reject) => {
      const onAbort = (): void => reject(signal!.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      const finish = (s: ExitStatus | undefined): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(s);
      };
      if (condition === 'removed') {
        e.removeWaiters.push(finish);
        return;
      }
      if (condition === 'next-exit') {
        e.exitWaiters.push(finish);
        return;
      }
      void e.runtime.inspectState().then((state) => {
        if (state.status === 'running' || e.starting || e.restarting) e.exitWaiters.push(finish);
        else finish(e.lastExit ?? { exitCode: state.exitCode ?? 0, oomKilled: state.oomKilled ?? false, finishedAt: state.finishedAt ?? '', ...(state.error ? { error: state.error } : {}) });
      }, reject);
    });
  }

  // ---- stop, kill, restart -------------------------------------------------------------------

  async stop(input: string, timeoutSeconds?: number): Promise<void> {
    const e = this.entry(input);
    if (e.starting) await e.starting.catch(() => {});
    e.record.manuallyStopped = true;
    await this.save(e);
    const wasRestarting = this.cancelRestart(e);
    const state = await e.runtime.inspectState();
    if (state.status !== 'running') {
      if (wasRestarting) return;
      throw notModified('container already stopped');
    }
    const timeout = timeoutSeconds ?? e.runtime.spec.stopTimeout;
    this.event(e, 'kill', { signal: String(signalNumberOf(e.runtime.spec.stopSignal)) });
    await e.runtime.stop(timeout);
    await this.settled(e);
    this.event(e, 'stop');
  }

  private cancelRestart(e: Entry): boolean {
    const was = e.restarting;
    if (e.restartTimer) clearTimeout(e.restartTimer);
    e.restartTimer = undefined;
    e.restarting = false;
    return was;
  }

  async kill(input: string, signal: string): Promise<void> {
    const e = this.entry(input);
    const state = await e.runtime.inspectState();
    if (state.status !== 'running') {
      if (this.cancelRestart(e)) return;
      throw new TsdError('ALREADY_EXISTS', `Cannot kill container: ${input}: Container ${e.record.id} is not running`);
    }
    const number = signalNumberOf(signal);
    if (number === undefined) throw new TsdError('INVALID_ARGUMENT', `Invalid signal: ${signal}`);
    if (number === 9 || signal === e.runtime.spec.stopSignal) {
      e.record.manuallyStopped = true;
      await this.save(e);
    }
    await e.runtime.kill(signal);
    this.event(e, 'kill', { signal: String(number) });
    if (number === 9) await this.settled(e);
  }

  async restart(input: string, timeoutSeconds?: number): Promise<void> {
    const e = this.entry(input);
    if ((await e.runtime.inspectState()).status === 'running') await this.stop(input, timeoutSeconds);
    else this.cancelRestart(e);
    await this.start(e.record.id);
    this.event(e, 'restart');
  }

  async rename(input: string, newName: string): Promise<void> {
    const e = this.entry(input);
    const name = checkContainerName(newName);
    const old = e.record.name;
    if (name === old) throw new TsdError('INVALID_ARGUMENT', `Renaming a container with the same name as its current name`);
    const holder = this.names.get(name);
    if (holder) {
      throw new TsdError('ALREADY_EXISTS', `Conflict. The container name "/${name}" is already in use by container "${holder}". You have to remove (or rename) that container to be able to reuse that name.`);
    }
    this.names.set(name, e.record.id);
    this.names.delete(old);
    e.record.name = name;
    await this.save(e);
    this.event(e, 'rename', { oldName: `/${old}` });
  }

  // ---- networks ------------------------------------------------------------------------------

  usingNetwork(name: string): string[] {
    return [...this.entries.values()].filter((e) => name in e.record.networks).map((e) => e.record.id);
  }

  /** `docker network connect`: joined now when running, and at every start from now on. */
  async connect(input: string, network: string, choice: NetworkChoice): Promise<void> {
    const e = this.entry(input);
    const r = e.record;
    if (network in r.networks) throw new TsdError('DENIED', `endpoint with name ${r.name} already exists in network ${network}`);
    const primary = primaryNetwork(r);
    if (primary === 'host' || network === 'host') throw new TsdError('DENIED', 'container cannot be disconnected from host network or connected to host network');
    if (primary === 'none' || network === 'none') throw new TsdError('DENIED', 'container cannot be connected to multiple networks with one of the networks in private (none) mode');
    const net = await this.net();
    if ((await e.runtime.inspectState()).status === 'running') {
      await net.connect(network, {
        containerId: r.id,
        name: r.name,
        netnsPath: net.netnsPath(r.id),
        hostname: e.runtime.spec.hostname,
        aliases: choice.aliases,
        ...(choice.ipv4Address ? { ipv4Address: choice.ipv4Address } : {}),
        hostsPath: join(e.runtime.stateDir, 'hosts'),
        extraHosts: r.hostConfig.ExtraHosts ?? [],
      });
    } else {
      net.inspect(network);
    }
    r.networks[network] = choice;
    await this.save(e);
  }

  async disconnect(input: string, network: string): Promise<void> {
    const e = this.entry(input);
    const r = e.record;
    if (!(network in r.networks)) throw new TsdError('NOT_FOUND', `container ${r.id} is not connected to network ${network}`);
    if (primaryNetwork(r) === 'host' && network === 'host') throw new TsdError('DENIED', 'container cannot be disconnected from host network or connected to host network');
    if ((await e.runtime.inspectState()).status === 'running') await (await this.net()).disconnect(network, r.id);
    delete r.networks[network];
    await this.save(e);
  }

  // ---- remove --------------------------------------------------------------------------------

  async remove(input: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const e = this.entry(input);
    const id = e.record.id;
    if (e.removing) throw new TsdError('ALREADY_EXISTS', `removal of container ${input} is already in progress`);
    if (e.starting) await e.starting.catch(() => {});
    let state = await e.runtime.inspectState();
    if (state.status === 'running' && !options.force) {
      throw new TsdError('ALREADY_EXISTS', `You cannot remove a running container ${id}. Stop the container before attempting removal or force remove`);
    }
    e.removing = true;
    try {
      this.cancelRestart(e);
      if (state.status === 'running') {
        e.record.manuallyStopped = true;
        try {
          await e.runtime.kill('SIGKILL');
          this.event(e, 'kill', { signal: '9' });
        } catch (err) {
          if (!isRuntimeError(err, 'not-running')) throw err;
        }
        await this.settled(e);
        state = await e.runtime.inspectState();
      }
      await releaseNetworks(await this.net(), id).catch(() => {});
      for (const p of e.pendingAttaches.splice(0)) p.reject(new TsdError('NOT_FOUND', `No such container: ${id}`));
      await e.runtime.remove({ force: true });
      await removeContainerRootfs(this.o.engine, e.record.snapshotKey);
    } catch (err) {
      e.removing = false;
      throw err;
    }
    this.entries.delete(id);
    if (this.names.get(e.record.name) === id) this.names.delete(e.record.name);
    if (options.volumes) {
      for (const v of e.record.anonymousVolumes) {
        try {
          await this.o.volumes.remove(v);
          this.o.events.emit('volume', 'destroy', v, { driver: 'local' });
        } catch (err) {
          this.o.log.debug({ err, volume: v }, 'anonymous volume kept');
        }
      }
    }
    this.event(e, 'destroy');
    const exit = e.lastExit ?? (state.status === 'exited' ? { exitCode: state.exitCode ?? 0, oomKilled: state.oomKilled ?? false, finishedAt: state.finishedAt ?? '' } : undefined);
    const last = exit && { exitCode: exit.exitCode, oomKilled: exit.oomKilled, finishedAt: exit.finishedAt };
    for (const w of e.removeWaiters.splice(0)) w(last);
    for (const w of e.exitWaiters.splice(0)) w(last ?? { exitCode: 0, oomKilled: false, finishedAt: '' });
  }

  /** Remove every container that is not running; returns their IDs. */
  async prune(keep: (id: string) => boolean = () => false): Promise<string[]> {
    const removed: string[] = [];
    for (const e of [...this.entries.values()]) {
      if (keep(e.record.id) || e.removing) continue;
      const state = await e.runtime.inspectState();
      if (state.status === 'running' || e.restarting) continue;
      try {
        await this.remove(e.record.id);
        removed.push(e.record.id);
      } catch (err) {
        this.o.log.warn({ err, container: e.record.id }, 'prune: could not remove a container');
      }
    }
    return removed;
  }

  // ---- daemon start and stop -----------------------------------------------------------------

  /** Pick up the containers of the data root: running ones are watched again, the rest settled. */
  private async restore(): Promise<void> {
    const known = await listContainers(this.o.stateRoot);
    const toSettle: Entry[] = [];
    for (const runtime of known) {
      let record: ContainerRecord;
      try {
        record = readRecord(runtime.stateDir);
      } catch (err) {
        if (!isNotFound(err)) this.o.log.warn({ err, container: runtime.id }, 'unreadable container record: removing the container');
        // A create that never finished.
        await runtime.remove({ force: true }).catch(() => {});
        await removeContainerRootfs(this.o.engine, `containers/${runtime.id}`).catch(() => {});
        continue;
      }
      const e: Entry = { record, runtime, restarting: false, restartDelay: 0, removing: false, exitWaiters: [], removeWaiters: [], pendingAttaches: [], execIds: new Set() };
      this.entries.set(record.id, e);
      this.names.set(record.name, record.id);
      const state = await runtime.inspectState();
      if (state.status === 'running') this.watch(e);
      else toSettle.push(e);
    }
    // State dirs without a runtime config (half-created).
    for (const name of await readdir(this.o.stateRoot).catch(() => [] as string[])) {
      if (/^[0-9a-f]{64}$/.test(name) && !this.entries.has(name)) {
        await rm(join(this.o.stateRoot, name), { recursive: true, force: true });
        await removeContainerRootfs(this.o.engine, `containers/${name}`).catch(() => {});
      }
    }
    // Endpoints of containers that are gone or not running.
    const network = this.entries.size > 0 ? await this.net() : undefined;
    for (const id of network?.containers() ?? []) {
      const e = this.entries.get(id);
      if (!e || e.monitor === undefined) await releaseNetworks(network!, id).catch(() => {});
    }
    for (const e of toSettle) {
      const state = await e.runtime.inspectState();
      if (state.status !== 'exited') continue;
      if (e.record.hostConfig.AutoRemove) {
        await this.remove(e.record.id, { force: true, volumes: true }).catch((err: unknown) => this.o.log.warn({ err }, 'removing a --rm container failed'));
      } else if (shouldRestart(e.record.hostConfig.RestartPolicy, state.exitCode ?? 0, e.record.restartCount, e.record.manuallyStopped) && e.record.hostConfig.RestartPolicy?.Name !== 'on-failure') {
        void this.start(e.record.id).catch((err: unknown) => this.o.log.warn({ err, container: e.record.id }, 'restarting a container at daemon start failed'));
      }
    }
    this.o.log.info({ containers: this.entries.size }, 'Loading containers: done.');
  }

  /** Stop watching (containers keep running: their shims outlive the daemon). */
  close(): void {
    this.closing = true;
    for (const e of this.entries.values()) {
      e.monitor?.abort();
      e.monitor = undefined;
      if (e.restartTimer) clearTimeout(e.restartTimer);
      for (const p of e.pendingAttaches.splice(0)) p.reject(new TsdError('UNAVAILABLE', 'the daemon is shutting down'));
    }
  }
}

/** A start failure in dockerd's words (the CLI picks `docker run`'s exit code from them). */
function startError(err: unknown): TsdError {
  if (isRuntimeError(err, 'start-failed')) {
    const status = err.exitCode === 126 || err.exitCode === 127 ? 400 : 500;
    return new TsdError(status === 400 ? 'INVALID_ARGUMENT' : 'UNKNOWN', `failed to create task for container: OCI runtime create failed: unable to start container process: ${err.message}: unknown`, { cause: err, status });
  }
  if (isTsdError(err)) return err;
  return new RuntimeError('system', (err as Error).message ?? String(err), { cause: err });
}

/** "SIGTERM", "TERM", "15" -> 15. */
export function signalNumberOf(signal: string): number | undefined {
  return signalNumber(signal);
}

export { statusOf, RECORD_FILE };
export type { InspectedState };
