/**
 * Start and stop a daemon: lock the data root (one daemon per data root), write the pidfile,
 * open the engine, serve the API; `stop()` undoes it all in reverse, removing the sockets.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TsdError, isNotFound } from '../../shared/errors.js';
import { openEngine, type Engine } from '../images/open-engine.js';
import { removeStaleExtractions } from '../images/unpack-image.js';
import { NetworkManager } from '../network/index.js';
import { WarmPool } from '../runtime/index.js';
import { ExecStore } from './containers/exec.js';
import { ContainerManager } from './containers/manager.js';
import { EventLog } from './events.js';
import { VolumeStore } from './volumes/store.js';
import type { DaemonConfig } from './config.js';
import type { DaemonContext } from './daemon-context.js';
import { formatAddress, isLoopback, parseHost, type ListenAddress } from './hosts.js';
import { lockDataRoot, writePidFile } from './lock.js';
import type { Logger } from './log.js';
import { createApiServer } from './server.js';
import { daemonVersion } from './version.js';

export interface RunningDaemon {
  context: DaemonContext;
  addresses: ListenAddress[];
  stop(): Promise<void>;
}

async function engineIdOf(dataRoot: string): Promise<string> {
  const path = join(dataRoot, 'engine-id');
  try {
    const id = (await readFile(path, 'utf8')).trim();
    if (id) return id;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  const id = randomUUID();
  await writeFile(path, `${id}\n`, { mode: 0o600 });
  return id;
}

export async function startDaemon(config: DaemonConfig, log: Logger): Promise<RunningDaemon> {
  const addresses = config.hosts.map(parseHost);
  for (const a of addresses) {
    if (!isLoopback(a)) log.warn({ host: formatAddress(a) }, `Binding to ${formatAddress(a)} without TLS: anyone who can reach it controls this daemon`);
  }
  if (process.getuid?.() !== 0 && config.storageDriver === 'overlay') {
    throw new TsdError('CONFIG_INVALID', 'the overlay storage driver needs root (it mounts overlayfs); run as root or use --storage-driver vfs');
  }
  const undo: Array<() => Promise<void> | void> = [];
  const unwind = async () => {
    for (const step of undo.reverse()) await Promise.resolve(step()).catch((err: Error) => log.warn({ err }, 'shutdown step failed'));
    undo.length = 0;
  };
  try {
    const lock = await lockDataRoot(config.dataRoot);
    undo.push(() => lock.release());
    if (config.pidfile) undo.push(await writePidFile(config.pidfile));
    await mkdir(config.execRoot, { recursive: true, mode: 0o700 });
    // Staging left by a daemon that died mid-load: the lock says nobody else uses it.
    await rm(join(config.dataRoot, 'tmp'), { recursive: true, force: true });
    // The image and volume stores ask the container manager what is in use; it is made after them.
    let containers: ContainerManager | undefined;
    const engine: Engine = await openEngine({
      dataRoot: config.dataRoot,
      storageDriver: config.storageDriver,
      insecureRegistries: config.insecureRegistries,
      maxConcurrentDownloads: config.maxConcurrentDownloads,
      maxConcurrentUploads: config.maxConcurrentUploads,
      inUse: (id) => (containers?.usingImage(id).length ?? 0) > 0,
    });
    undo.push(() => engine.close());
    // Half-unpacked layers of a daemon killed mid-pull: the lock says no other process fills them.
    const stale = await removeStaleExtractions(engine);
    if (stale > 0) log.info(`removed ${stale} unfinished layer extractions left by a previous run`);
    // The host's network is touched only once containers or networks are used (or were before).
    let networkOpening: Promise<NetworkManager> | undefined;
    const openNetwork = (): Promise<NetworkManager> =>
      (networkOpening ??= NetworkManager.open({
        stateDir: join(config.dataRoot, 'network'),
        defaultBridge: config.bridge === 'none' ? false : { name: config.bridge, ...(config.bip ? { bip: config.bip } : {}) },
        ...(config.defaultAddressPools.length > 0 ? { defaultAddressPools: config.defaultAddressPools } : {}),
        ...(config.warmStarts > 0 ? { netnsPool: config.warmStarts } : {}),
      }).then((m) => {
        for (const problem of m.restoreErrors) log.warn(problem);
        return m;
      }));
    undo.push(async () => {
      if (networkOpening) await (await networkOpening).close();
    });
    if (existsSync(join(config.dataRoot, 'network', 'networks.json'))) await openNetwork();
    const events = new EventLog();
    const volumes = await VolumeStore.open(config.dataRoot, (name) => containers?.usingVolume(name) ?? []);
    const pool = config.warmStarts > 0 ? new WarmPool(config.warmStarts) : undefined;
    if (pool) {
      pool.fill();
      undo.push(() => pool.close());
    }
    containers = await ContainerManager.open({
      engine,
      network: openNetwork,
      volumes,
      events,
      log,
      stateRoot: join(config.dataRoot, 'containers'),
      ...(config.cgroupParent ? { cgroupParent: config.cgroupParent } : {}),
      ...(pool ? { pool } : {}),
    });
    const manager = containers;
    undo.push(() => manager.close());
    const execs = new ExecStore(manager);
    events.subscribe((e) => {
      if (e.Type === 'container' && e.Action === 'destroy') execs.forgetContainer(e.Actor.ID);
    });
    const context: DaemonContext = { engine, config, log, engineId: await engineIdOf(config.dataRoot), startedAt: new Date(), events, containers: manager, execs, network: openNetwork, volumes };
    const api = createApiServer(context);
    undo.push(() => api.close(config.shutdownTimeout * 1000));
    await api.listen(addresses);
    log.info({ version: daemonVersion, dataRoot: config.dataRoot, storageDriver: engine.snapshots.name, images: engine.images.all().length }, 'Daemon has completed initialization');
    let stopping: Promise<void> | undefined;
    return {
      context,
      addresses,
      stop: () => (stopping ??= (async () => {
        log.info('Processing signal: stopping the daemon');
        await unwind();
        log.info('Daemon shutdown complete');
      })()),
    };
  } catch (err) {
    await unwind();
    throw err;
  }
}
