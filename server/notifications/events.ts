import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** distribution's notification event (the envelope's `events[]` entries). */
export interface RegistryEvent {
  id: string;
  timestamp: string;
  action: 'push' | 'pull' | 'delete' | 'mount';
  target: {
    mediaType?: string;
    digest?: string;
    size?: number;
    length?: number;
    repository: string;
    url?: string;
    tag?: string;
    fromRepository?: string;
  };
  request: { id: string; addr: string; host: string; method: string; useragent: string };
  actor: { name?: string };
  source: { addr: string; instanceID: string };
}

export const envelopeMediaType = 'application/vnd.docker.distribution.events.v1+json';

const instanceID = randomUUID();

export function makeEvent(
  action: RegistryEvent['action'],
  target: RegistryEvent['target'],
  req: IncomingMessage,
  requestId: string,
  user: string | undefined,
  sourceAddr: string,
): RegistryEvent {
  const host = req.headers.host ?? '';
  const kind = target.tag !== undefined || target.mediaType?.includes('manifest') || target.mediaType?.includes('index') ? 'manifests' : 'blobs';
  const ref = target.digest ?? target.tag ?? '';
  const event: RegistryEvent = {
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    action,
    target: { ...target, ...(target.size !== undefined ? { length: target.size } : {}), url: `http://${host}/v2/${target.repository}/${kind}/${ref}` },
    request: { id: requestId, addr: `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`, host, method: req.method ?? '', useragent: String(req.headers['user-agent'] ?? '') },
    actor: user ? { name: user } : {},
    source: { addr: sourceAddr, instanceID },
  };
  return event;
}
