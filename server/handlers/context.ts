import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Caller } from '../auth/controller.js';
import type { Logger } from '../log.js';
import type { RegistryEvent } from '../notifications/events.js';
import type { Registry } from '../registry/registry.js';

export interface HandlerOptions {
  deleteEnabled: boolean;
  readOnly: boolean;
  maxCatalogEntries: number;
  /** Repositories that refuse writes (mirrored ones): answered with UNSUPPORTED. */
  readOnlyRepository?: (name: string) => boolean;
}

/** What every handler gets: the request, the response, the route's parameters and the services. */
export interface RequestContext {
  req: IncomingMessage;
  res: ServerResponse;
  params: Record<string, string>;
  registry: Registry;
  options: HandlerOptions;
  log: Logger;
  /** Who is asking; `may` answers for extra access (a mount's source repository). */
  caller: Caller;
  /** No access control at all: a mount without `from` may link any blob the store has. */
  open: boolean;
  /** Report a registry event to the notification endpoints (a no-op without any). */
  notify(action: RegistryEvent['action'], target: RegistryEvent['target']): void;
}

export type Handler = (ctx: RequestContext) => Promise<void>;
