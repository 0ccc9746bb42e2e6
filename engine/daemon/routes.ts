/**
 * The Engine API route table (paths after the `/vX.Y` prefix). As dockerd's router, names match
 * greedily (`/images/(.+)/json`), so `127.0.0.1:5000/team/app:v1` needs no escaping. A route may
 * also take over its connection when the request asks to upgrade (container attach, exec start:
 * `Connection: Upgrade`, `Upgrade: tcp`), by giving an `upgrade` handler.
 */
import { auth } from './handlers/auth.js';
import { attachContainerPlain, attachContainerUpgrade } from './handlers/containers-attach.js';
import { commitHandler, containerChangesHandler, exportContainerHandler } from './handlers/containers-image.js';
import { containerLogsHandler, inspectContainerHandler, listContainersHandler, topContainerHandler } from './handlers/containers-read.js';
import {
  createContainerHandler,
  killContainerHandler,
  pruneContainersHandler,
  removeContainerHandler,
  renameContainerHandler,
  resizeContainerHandler,
  restartContainerHandler,
  startContainerHandler,
  stopContainerHandler,
  waitContainerHandler,
} from './handlers/containers-write.js';
import { eventsHandler } from './handlers/events.js';
import { createExecHandler, inspectExecHandler, resizeExecHandler, startExecHandler, startExecUpgrade } from './handlers/exec.js';
import { imageHistory, inspectImage, listImages } from './handlers/images-read.js';
import { createImage, loadImages, pushImageHandler, saveImages } from './handlers/images-transfer.js';
import { pruneImages, removeImage, tagImage } from './handlers/images-write.js';
import { connectNetworkHandler, createNetworkHandler, disconnectNetworkHandler, inspectNetworkHandler, listNetworksHandler, pruneNetworksHandler, removeNetworkHandler } from './handlers/networks.js';
import { info, ping, version } from './handlers/system.js';
import { createVolumeHandler, inspectVolumeHandler, listVolumesHandler, pruneVolumesHandler, removeVolumeHandler } from './handlers/volumes.js';
import type { Handler, UpgradeHandler } from './request.js';

export interface Route {
  name: string;
  methods: readonly string[];
  pattern: RegExp;
  handler: Handler;
  upgrade?: UpgradeHandler;
}

/** Container IDs and names: no slashes. */
const C = '(?<id>[^/]+)';

export const routes: Route[] = [
  { name: 'ping', methods: ['GET', 'HEAD'], pattern: /^\/_ping$/, handler: ping },
  { name: 'version', methods: ['GET'], pattern: /^\/version$/, handler: version },
  { name: 'info', methods: ['GET'], pattern: /^\/info$/, handler: info },
  { name: 'auth', methods: ['POST'], pattern: /^\/auth$/, handler: auth },
  { name: 'events', methods: ['GET'], pattern: /^\/events$/, handler: eventsHandler },

  { name: 'image-list', methods: ['GET'], pattern: /^\/images\/json$/, handler: listImages },
  { name: 'image-create', methods: ['POST'], pattern: /^\/images\/create$/, handler: createImage },
  { name: 'image-load', methods: ['POST'], pattern: /^\/images\/load$/, handler: loadImages },
  { name: 'image-prune', methods: ['POST'], pattern: /^\/images\/prune$/, handler: pruneImages },
  { name: 'image-save-many', methods: ['GET'], pattern: /^\/images\/get$/, handler: saveImages },
  { name: 'image-inspect', methods: ['GET'], pattern: /^\/images\/(?<name>.+)\/json$/s, handler: inspectImage },
  { name: 'image-history', methods: ['GET'], pattern: /^\/images\/(?<name>.+)\/history$/s, handler: imageHistory },
  { name: 'image-save', methods: ['GET'], pattern: /^\/images\/(?<name>.+)\/get$/s, handler: saveImages },
  { name: 'image-tag', methods: ['POST'], pattern: /^\/images\/(?<name>.+)\/tag$/s, handler: tagImage },
  { name: 'image-push', methods: ['POST'], pattern: /^\/images\/(?<name>.+)\/push$/s, handler: pushImageHandler },
  { name: 'image-delete', methods: ['DELETE'], pattern: /^\/images\/(?<name>.+)$/s, handler: removeImage },
  { name: 'commit', methods: ['POST'], pattern: /^\/commit$/, handler: commitHandler },

  { name: 'container-list', methods: ['GET'], pattern: /^\/containers\/json$/, handler: listContainersHandler },
  { name: 'container-create', methods: ['POST'], pattern: /^\/containers\/create$/, handler: createContainerHandler },
  { name: 'container-prune', methods: ['POST'], pattern: /^\/containers\/prune$/, handler: pruneContainersHandler },
  { name: 'container-inspect', methods: ['GET'], pattern: new RegExp(`^/containers/${C}/json$`), handler: inspectContainerHandler },
  { name: 'container-logs', methods: ['GET'], pattern: new RegExp(`^/containers/${C}/logs$`), handler: containerLogsHandler },
  { name: 'container-top', methods: ['GET'], pattern: new RegExp(`^/containers/${C}/top$`), handler: topContainerHandler },
  { name: 'container-changes', methods: ['GET'], pattern: new RegExp(`^/containers/${C}/changes$`), handler: containerChangesHandler },
  { name: 'container-export', methods: ['GET'], pattern: new RegExp(`^/containers/${C}/export$`), handler: exportContainerHandler },
  { name: 'container-start', methods: ['POST'], pattern: new RegExp(`^/containers/${C}/start$`), handler: startContainerHandler },
  { name: 'container-stop', methods: ['POST'], pattern: new RegExp(`^/containers/${C}/stop$`), handler: stopContainerHandler },
  { name: 'container-restart', methods: ['POST'], pattern: new RegExp(`^/containers/${C}/restart$`), handler: restartContainerHandler },
  { name: 'container-kill', methods: ['POST'], pattern: new RegExp(`^/containers/${C}/kill$`), handler: killContainerHandler },
  { name: 'container-wait', methods: ['POST'], pattern: new RegExp(`^/containers/${C}/wait$`), handler: waitContainerHandler },
  { name: 'container-rename', methods: ['POST'], pattern: new RegExp(`^/containers/${C}/rename$`), handler: renameContainerHandler },
  { name: 'container-resize', methods: ['POST'], pattern: new RegExp(`^/containers/${C}/resize$`), handler: resizeContainerHandler },
  { name: 'container-attach', methods: ['POST'], pattern: new RegExp(`^/containers/${C}/attach$`), handler: attachContainerPlain, upgrade: attachContainerUpgrade },
  { name: 'container-exec', methods: ['POST'], pattern: new RegExp(`^/containers/${C}/exec$`), handler: createExecHandler },
  { name: 'container-delete', methods: ['DELETE'], pattern: new RegExp(`^/containers/${C}$`), handler: removeContainerHandler },

  { name: 'exec-start', methods: ['POST'], pattern: /^\/exec\/(?<id>[^/]+)\/start$/, handler: startExecHandler, upgrade: startExecUpgrade },
  { name: 'exec-resize', methods: ['POST'], pattern: /^\/exec\/(?<id>[^/]+)\/resize$/, handler: resizeExecHandler },
  { name: 'exec-inspect', methods: ['GET'], pattern: /^\/exec\/(?<id>[^/]+)\/json$/, handler: inspectExecHandler },

  { name: 'network-list', methods: ['GET'], pattern: /^\/networks\/?$/, handler: listNetworksHandler },
  { name: 'network-create', methods: ['POST'], pattern: /^\/networks\/create$/, handler: createNetworkHandler },
  { name: 'network-prune', methods: ['POST'], pattern: /^\/networks\/prune$/, handler: pruneNetworksHandler },
  { name: 'network-inspect', methods: ['GET'], pattern: /^\/networks\/(?<id>[^/]+)$/, handler: inspectNetworkHandler },
  { name: 'network-connect', methods: ['POST'], pattern: /^\/networks\/(?<id>[^/]+)\/connect$/, handler: connectNetworkHandler },
  { name: 'network-disconnect', methods: ['POST'], pattern: /^\/networks\/(?<id>[^/]+)\/disconnect$/, handler: disconnectNetworkHandler },
  { name: 'network-delete', methods: ['DELETE'], pattern: /^\/networks\/(?<id>[^/]+)$/, handler: removeNetworkHandler },

  { name: 'volume-list', methods: ['GET'], pattern: /^\/volumes$/, handler: listVolumesHandler },
  { name: 'volume-create', methods: ['POST'], pattern: /^\/volumes\/create$/, handler: createVolumeHandler },
  { name: 'volume-prune', methods: ['POST'], pattern: /^\/volumes\/prune$/, handler: pruneVolumesHandler },
  { name: 'volume-inspect', methods: ['GET'], pattern: /^\/volumes\/(?<name>[^/]+)$/, handler: inspectVolumeHandler },
  { name: 'volume-delete', methods: ['DELETE'], pattern: /^\/volumes\/(?<name>[^/]+)$/, handler: removeVolumeHandler },
];

/** The route for a method and path, with its parameters URL-decoded; undefined when none (dockerd's 404). */
export function matchRoute(method: string, path: string, table: readonly Route[] = routes): { route: Route; params: Record<string, string> } | undefined {
  for (const route of table) {
    if (!route.methods.includes(method)) continue;
    const m = route.pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.groups ?? {})) if (v !== undefined) params[k] = decodeURIComponent(v);
    return { route, params };
  }
  return undefined;
}
