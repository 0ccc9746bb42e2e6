/**
 * Publishing a container's ports: for each binding, reserve the host port (refusing one another
 * container of this engine holds: docker's "port is already allocated"), start the userland proxy
 * on it (a port some other program holds fails there: "address already in use"), and, when
 * iptables is on, add the DNAT rules. All bindings or none: a failure undoes what was done.
 */
import { TsdError } from '../../shared/errors.js';
import { deleteRules, ensureRules, portRules, tagOf, type Rule } from './iptables.js';
import { listenTcp, listenUdp, type Proxy } from './proxy.js';
import type { PortBinding, Protocol, PublishedPort } from './ports.js';

export interface PublishRequest {
  containerIp: string;
  bindings: PortBinding[];
  /** For DNAT rules: the network's id (their tag) and bridge; leave out for proxy only. */
  network?: { id: string; bridge: string };
  /** For docker's error text: the endpoint's name (the container name) and id. */
  endpointName?: string;
  endpointId?: string;
}

export interface PublishHandle {
  ports: PublishedPort[];
  /** Unpublish: proxies stop, rules go, ports are free. */
  close(): Promise<void>;
  /**
   * Engine shutdown: proxies stop and ports are free in this process, but the DNAT rules stay, so
   * a container that outlives the daemon stays reachable on the host's other addresses; publishing
   * the same ports again later (a restart) finds its rules in place.
   */
  stop(): Promise<void>;
}

interface Reservation {
  protocol: Protocol;
  hostIp: string;
  hostPort: number;
}

function clash(a: Reservation, b: Reservation): boolean {
  return a.protocol === b.protocol && a.hostPort === b.hostPort && (a.hostIp === b.hostIp || a.hostIp === '0.0.0.0' || b.hostIp === '0.0.0.0');
}

export class PortPublisher {
  private readonly held = new Set<Reservation>();

  constructor(private readonly options: { iptables: boolean }) {}

  /** Host ports this engine holds now. */
  reservations(): Reservation[] {
    return [...this.held].map((r) => ({ ...r }));
  }

  async publish(req: PublishRequest): Promise<PublishHandle> {
    const done: Array<{ proxy: Proxy; reservation: Reservation; rules: Rule[]; port: PublishedPort }> = [];
    const undo = async (keepRules = false) => {
      for (const d of [...done].reverse()) await this.release(d.proxy, d.reservation, keepRules ? [] : d.rules, req.network?.id);
    };
    try {
      for (const b of req.bindings) {
        const { proxy, reservation } = await this.bind(b, req);
        const port: PublishedPort = { containerPort: b.containerPort, protocol: b.protocol, hostIp: b.hostIp, hostPort: proxy.hostPort };
        const entry = { proxy, reservation, rules: [] as Rule[], port };
        done.push(entry);
        if (this.options.iptables && req.network) {
          entry.rules = portRules({ bridge: req.network.bridge, protocol: b.protocol, hostIp: b.hostIp, hostPort: proxy.hostPort, containerIp: req.containerIp, containerPort: b.containerPort });
          await ensureRules(entry.rules, tagOf(req.network.id));
        }
      }
    } catch (err) {
      await undo();
      throw err;
    }
    let closed = false;
    const finish = async (keepRules: boolean) => {
      if (closed) return;
      closed = true;
      await undo(keepRules);
    };
    return {
      ports: done.map((d) => d.port),
      close: () => finish(false),
      stop: () => finish(true),
    };
  }

  /** Remove the DNAT rules of ports published earlier (by a process that has gone). */
  async deleteRulesOf(network: { id: string; bridge: string }, containerIp: string, ports: PublishedPort[]): Promise<void> {
    if (!this.options.iptables) return;
    for (const p of ports) {
      await deleteRules(portRules({ bridge: network.bridge, protocol: p.protocol, hostIp: p.hostIp, hostPort: p.hostPort, containerIp, containerPort: p.containerPort }), tagOf(network.id));
    }
  }

  private async release(proxy: Proxy, reservation: Reservation, rules: Rule[], networkId: string | undefined): Promise<void> {
    if (rules.length > 0 && networkId !== undefined) await deleteRules(rules, tagOf(networkId));
    await proxy.close();
    this.held.delete(reservation);
  }

  private prefix(req: PublishRequest): string {
    return req.endpointName === undefined ? '' : `driver failed programming external connectivity on endpoint ${req.endpointName} (${req.endpointId ?? ''}): `;
  }

  /** Reserve and listen: a fixed port, the first free one of a range, or one the kernel picks. */
  private async bind(b: PortBinding, req: PublishRequest): Promise<{ proxy: Proxy; reservation: Reservation }> {
    const target = { host: req.containerIp, port: b.containerPort };
    const listen = b.protocol === 'tcp' ? listenTcp : listenUdp;
    const candidates = b.hostPortEnd !== undefined ? Array.from({ length: b.hostPortEnd - b.hostPort + 1 }, (_, i) => b.hostPort + i) : [b.hostPort];
    let lastError: unknown;
    for (const port of candidates) {
      const wanted: Reservation = { protocol: b.protocol, hostIp: b.hostIp, hostPort: port };
      if (port !== 0 && [...this.held].some((h) => clash(h, wanted))) {
        lastError = new TsdError('ALREADY_EXISTS', `${this.prefix(req)}Bind for ${b.hostIp}:${port} failed: port is already allocated`);
        continue;
      }
      try {
        const proxy = await listen(b.hostIp, port, target);
        const reservation = { ...wanted, hostPort: proxy.hostPort };
        if ([...this.held].some((h) => clash(h, reservation))) {
          // The kernel gave a port another binding of ours holds on a different address: try again.
          await proxy.close();
          lastError = new TsdError('ALREADY_EXISTS', `${this.prefix(req)}Bind for ${b.hostIp}:${proxy.hostPort} failed: port is already allocated`);
          if (port === 0) candidates.push(0);
          if (candidates.length > 64) break;
          continue;
        }
        this.held.add(reservation);
        return { proxy, reservation };
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code !== 'EADDRINUSE' && code !== 'EADDRNOTAVAIL' && code !== 'EACCES') throw err;
        const why = code === 'EADDRINUSE' ? 'address already in use' : code === 'EACCES' ? 'permission denied' : 'cannot assign requested address';
        lastError = new TsdError(code === 'EADDRINUSE' ? 'ALREADY_EXISTS' : 'INVALID_ARGUMENT', `${this.prefix(req)}Error starting userland proxy: listen ${b.protocol}4 ${b.hostIp}:${port}: bind: ${why}`, { cause: err });
      }
    }
    throw lastError;
  }
}
