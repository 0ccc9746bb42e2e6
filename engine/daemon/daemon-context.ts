/**
 * What the API handlers share: the engine (stores, registries), the daemon's settings and identity,
 * and the container side: containers, exec instances, networks, volumes and the event log.
 */
import type { EngineContext } from '../images/engine-context.js';
import type { NetworkManager } from '../network/index.js';
import type { DaemonConfig } from './config.js';
import type { ExecStore } from './containers/exec.js';
import type { ContainerManager } from './containers/manager.js';
import type { EventLog } from './events.js';
import type { Logger } from './log.js';
import type { VolumeStore } from './volumes/store.js';

export interface DaemonContext {
  readonly engine: EngineContext;
  readonly config: DaemonConfig;
  readonly log: Logger;
  /** A stable ID for this data root (dockerd's engine ID, shown by `docker info`). */
  readonly engineId: string;
  readonly startedAt: Date;
  readonly events: EventLog;
  readonly containers: ContainerManager;
  readonly execs: ExecStore;
  /** The network manager, opened on first use. */
  readonly network: () => Promise<NetworkManager>;
  readonly volumes: VolumeStore;
}
