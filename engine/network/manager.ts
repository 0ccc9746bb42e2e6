/**
 * NetworkManager: docker's networks for the daemon and the runtime. The predefined `bridge`
 * (interface tsdocker0), `host` and `none` networks, user-defined bridge networks, containers
 * attached by veth pairs with addresses from each network's pool, outbound NAT, published ports,
 * and the hosts-file lines that let containers on one user network find each other by name.
 *
 * State changes run one at a time and are persisted before the links they describe are made (an
 * address is never handed out twice, even across a crash); slow link and rule work runs outside
 * that queue, so containers starting together do not wait for each other's `ip` calls.
 * See README.md for the on-disk layout and the namespace contract with the runtime.
 */
import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TsdError } from '../../shared/errors.js';
import { formatCIDR, formatIPv4, hostRange, overlaps, parseCIDR, parseIPv4, contains, type Subnet } from './cidr.js';
import { hostModeHosts, parseExtraHost, renderHosts, rewriteInPlace, type HostEntry } from './hosts.js';
import { deleteTaggedRules, enableIpForward, ensureRules, networkRules, tagOf } from './iptables.js';
import { allocateAddress, defaultAddressPools, defaultGateway, macForAddress, pickSubnet, validatePools, type AddressPool } from './ipam.js';
import { attachVeth, deleteLink, ensureBridge, hostRoutes, linkAddresses, linkKind, loopbackUp } from './links.js';
import { createNetnsFiles, removeNetnsFile, sweepStaleNetnsNames } from './netns.js';
import { NetnsPool } from './netns-pool.js';
import { PortPublisher, type PublishHandle } from './publish.js';
import { toPortMap, type PortBinding, type PortMap, type PublishedPort } from './ports.js';
import { prepareStateDir, readState, writeState, type EndpointRecord, type NetworkRecord, type State } from './state.js';
import { dnsNames, endpointSettings, networkInspect, prefixLenOf, type EndpointSettings, type NetworkInspect } from './views.js';

export const optBridgeName = 'com.docker.network.bridge.name';
export const optMtu = 'com.docker.network.driver.mtu';
export const optMasquerade = 'com.docker.network.bridge.enable_ip_masquerade';
export const optDefaultBridge = 'com.docker.network.bridge.default_bridge';

export interface DefaultBridgeOptions {
  /** dockerd's `--bridge` (default tsdocker0). */
  name?: string;
  /** dockerd's `--bip`: the gateway address and prefix, e.g. `172.17.0.1/16` (default: from the pools). */
  bip?: string;
}

export interface NetworkManagerOptions {
  stateDir: string;
  /** The predefined `bridge` network; false: none (dockerd's `--bridge=none`). */
  defaultBridge?: DefaultBridgeOptions | false;
  /** dockerd's `default-address-pools`, for networks created without `--subnet`. */
  defaultAddressPools?: AddressPool[];
  /** dockerd's `--iptables` (default true): NAT, forwarding and DNAT rules. */
  iptables?: boolean;
  /** dockerd's `--ip-masq` (default true). */
  ipMasq?: boolean;
  /** dockerd's `--mtu` (default 1500). */
  mtu?: number;
  /** Warm network namespaces kept ready for prepareNetns (default 0: each is made on demand). */
  netnsPool?: number;
}

export interface CreateNetworkRequest {
  name: string;
  /** Only `bridge` (the default) can be created. */
  driver?: string;
  subnet?: string;
  gateway?: string;
  internal?: boolean;
  options?: Record<string, string>;
  labels?: Record<string, string>;
}

export interface ConnectRequest {
  containerId: string;
  /** The container's name (no leading slash); default: the short ID. */
  name?: string;
  /** The container's network namespace: `/proc/<pid>/ns/net` or a file from prepareNetns. Bridge and none only. */
  netnsPath?: string;
  hostname?: string;
  aliases?: string[];
  /** docker's `--ip` (user-defined networks only). */
  ipv4Address?: string;
  /** A hosts file to keep up to date (see hostsFor). */
  hostsPath?: string;
  /** `--add-host` values, `name:ip` (`host-gateway` allowed). */
  extraHosts?: string[];
}

export interface Attachment {
  networkId: string;
  networkName: string;
  endpointId: string;
  /** Bridge networks: */
  ip?: string;
  prefixLen?: number;
  gateway?: string;
  mac?: string;
  ifname?: string;
  hostVeth?: string;
}

const networkNamePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const containerIdPattern = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
const ifnamePattern = /^[a-zA-Z0-9_.-]{1,15}$/;

function newId(): string {
  return randomBytes(32).toString('hex');
}

function bad(message: string): TsdError {
  return new TsdError('INVALID_ARGUMENT', message);
}

export class NetworkManager {
  private state: State = { networks: [] };
  private queue: Promise<unknown> = Promise.resolve();
  private readonly publisher: PortPublisher;
  /** Live publications per endpoint (`<network id>/<container id>`). */
  private readonly published = new Map<string, Set<PublishHandle>>();
  /** Ports that could not be published again when the state was reopened (and were dropped from it). */
  readonly restoreErrors: string[] = [];
  private readonly iptables: boolean;
  private readonly pools: AddressPool[];
  private closed = false;
  private readonly pool: NetnsPool | undefined;

  private constructor(private readonly options: NetworkManagerOptions) {
    this.iptables = options.iptables ?? true;
    this.pools = options.defaultAddressPools ?? defaultAddressPools;
    this.publisher = new PortPublisher({ iptables: this.iptables });
    this.pool = options.netnsPool ? new NetnsPool(join(options.stateDir, 'netns-pool'), options.netnsPool) : undefined;
  }

  get stateDir(): string {
    return this.options.stateDir;
  }

  get netnsDir(): string {
    return join(this.options.stateDir, 'netns');
  }

  /**
   * Open the state (or start it), and make the links and rules it describes exist again (after a
   * reboot, or when something removed them): bridges with their addresses, NAT and forwarding rules.
   */
  static async open(options: NetworkManagerOptions): Promise<NetworkManager> {
    validatePools(options.defaultAddressPools ?? defaultAddressPools);
    if (options.mtu !== undefined && !(Number.isInteger(options.mtu) && options.mtu >= 68 && options.mtu <= 65535)) {
      throw new TsdError('CONFIG_INVALID', `invalid MTU ${options.mtu}`);
    }
    const m = new NetworkManager(options);
    await prepareStateDir(options.stateDir);
    await mkdir(m.netnsDir, { recursive: true, mode: 0o700 });
    await sweepStaleNetnsNames();
    m.state = await readState(options.stateDir);
    await m.mutate(async (draft) => {
      for (const [name, driver] of [['host', 'host'], ['none', 'null']] as const) {
        if (!draft.networks.some((n) => n.predefined && n.name === name)) {
          draft.networks.push({ id: newId(), name, driver, created: new Date().toISOString(), predefined: true, internal: false, options: {}, labels: {}, endpoints: {} });
        }
      }
      await m.configureDefaultBridge(draft);
    });
    for (const n of m.state.networks) if (n.driver === 'bridge') await m.realize(n);
    await m.restorePorts();
    await m.pool?.start();
    return m;
  }

  /**
   * Engine shutdown: stop every proxy this manager runs. Links, rules, state and published-port
   * records stay (containers keep running; a reopen publishes the same ports again).
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const set of this.published.values()) for (const h of set) await h.stop();
    this.published.clear();
    await this.pool?.close();
    await this.queue.catch(() => {});
  }

  // ---- state ---------------------------------------------------------------------------------

  private mutate<T>(change: (draft: State) => T | Promise<T>): Promise<T> {
    // A closed manager never writes again: a reopened one owns the state file now.
    if (this.closed) return Promise.reject(new TsdError('UNAVAILABLE', 'the network manager is closed'));
    const run = async () => {
      const draft = structuredClone(this.state);
      const result = await change(draft);
      await writeState(this.options.stateDir, draft);
      this.state = draft;
      return result;
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => {});
    return p;
  }

  /** docker's lookup: full ID, then name, then a unique ID prefix. */
  private lookup(state: State, idOrName: string): NetworkRecord {
    const byId = state.networks.find((n) => n.id === idOrName);
    if (byId) return byId;
    const byName = state.networks.find((n) => n.name === idOrName);
    if (byName) return byName;
    const byPrefix = idOrName.length > 0 ? state.networks.filter((n) => n.id.startsWith(idOrName)) : [];
    if (byPrefix.length === 1) return byPrefix[0]!;
    if (byPrefix.length > 1) throw bad(`network ${idOrName} is ambiguous (${byPrefix.length} matches found based on ID prefix)`);
    throw new TsdError('NOT_FOUND', `network ${idOrName} not found`);
  }

  private takenSubnets(draft: State, except?: NetworkRecord): Subnet[] {
    return draft.networks.filter((n) => n !== except && n.subnet !== undefined).map((n) => parseCIDR(n.subnet!));
  }

  private async takenWithRoutes(draft: State, except?: NetworkRecord): Promise<Subnet[]> {
    const routes = (await hostRoutes()).map((r) => parseCIDR(r, false));
    return [...this.takenSubnets(draft, except), ...routes];
  }

  // ---- the default bridge --------------------------------------------------------------------

  private async configureDefaultBridge(draft: State): Promise<void> {
    const config = this.options.defaultBridge;
    const index = draft.networks.findIndex((n) => n.predefined && n.name === 'bridge');
    const current = index < 0 ? undefined : draft.networks[index]!;
    if (config === false) {
      if (current) {
        if (Object.keys(current.endpoints).length > 0) throw new TsdError('CONFIG_INVALID', `the default bridge network has active endpoints; it cannot be turned off`);
        await this.teardown(current);
        draft.networks.splice(index, 1);
      }
      return;
    }
    const name = config?.name ?? 'tsdocker0';
    if (!ifnamePattern.test(name)) throw new TsdError('CONFIG_INVALID', `invalid bridge name ${name}`);
    let subnet: Subnet;
    let gateway: number;
    if (config?.bip !== undefined) {
      const bip = parseCIDR(config.bip, false);
      const { first, last } = hostRange(bip);
      if (bip.address < first || bip.address > last) throw new TsdError('CONFIG_INVALID', `invalid bip ${config.bip}: not a host address`);
      subnet = { base: bip.base, prefixLen: bip.prefixLen };
      gateway = bip.address;
    } else if (current?.subnet !== undefined && current.bridge === name) {
      return; // picked from the pools on an earlier start: keep it
    } else {
      // As dockerd with docker0: a bridge that is already there with an address keeps it, so
      // daemons started one after another on other data roots share one subnet instead of each
      // adding the next pool's address to the same interface.
      const [existing] = (await linkKind(name)) === 'bridge' ? await linkAddresses(name) : [];
      if (existing !== undefined) {
        const address = parseCIDR(existing, false);
        subnet = { base: address.base, prefixLen: address.prefixLen };
        gateway = address.address;
      } else {
        subnet = pickSubnet(this.pools, await this.takenWithRoutes(draft, current));
        gateway = defaultGateway(subnet);
      }
    }
    const mtu = this.options.mtu ?? 1500;
    if (current && current.subnet === formatCIDR(subnet) && current.gateway === formatIPv4(gateway) && current.bridge === name && current.mtu === mtu) return;
    if (current && Object.keys(current.endpoints).length > 0) {
      throw new TsdError('CONFIG_INVALID', `the default bridge network changed (now ${name} ${formatIPv4(gateway)}/${subnet.prefixLen}) while containers are attached to it`);
    }
    for (const other of draft.networks) {
      if (other !== current && other.subnet !== undefined && overlaps(parseCIDR(other.subnet), subnet)) {
        throw new TsdError('CONFIG_INVALID', `the default bridge's subnet ${formatCIDR(subnet)} overlaps network ${other.name} (${other.subnet})`);
      }
    }
    if (current) await this.teardown(current);
    const record: NetworkRecord = {
      id: current?.id ?? newId(),
      name: 'bridge',
      driver: 'bridge',
      created: current?.created ?? new Date().toISOString(),
      predefined: true,
      internal: false,
      subnet: formatCIDR(subnet),
      gateway: formatIPv4(gateway),
      bridge: name,
      mtu,
      masquerade: this.options.ipMasq ?? true,
      options: {
        [optDefaultBridge]: 'true',
        'com.docker.network.bridge.enable_icc': 'true',
        [optMasquerade]: String(this.options.ipMasq ?? true),
        'com.docker.network.bridge.host_binding_ipv4': '0.0.0.0',
        [optBridgeName]: name,
        [optMtu]: String(mtu),
      },
      labels: {},
      endpoints: {},
    };
    if (index < 0) draft.networks.unshift(record);
    else draft.networks[index] = record;
  }

  /** Make a bridge network's links and rules exist (idempotent). */
  private async realize(n: NetworkRecord): Promise<void> {
    const subnet = parseCIDR(n.subnet!);
    await ensureBridge({ name: n.bridge!, gateway: n.gateway!, prefixLen: subnet.prefixLen, mtu: n.mtu ?? 1500 });
    if (this.iptables) {
      await ensureRules(networkRules({ bridge: n.bridge!, subnet: n.subnet!, internal: n.internal, masquerade: n.masquerade ?? true }), tagOf(n.id));
      if (!n.internal) await enableIpForward();
    }
  }

  /** Remove a bridge network's rules and bridge. */
  private async teardown(n: NetworkRecord): Promise<void> {
    await deleteTaggedRules(tagOf(n.id));
    if (n.bridge !== undefined && (await linkKind(n.bridge)) === 'bridge') await deleteLink(n.bridge);
  }

  // ---- networks ------------------------------------------------------------------------------

  /** `docker network create`: returns the new network's ID. */
  async create(req: CreateNetworkRequest): Promise<{ Id: string; Warning: string }> {
    const driver = req.driver ?? 'bridge';
    if (!networkNamePattern.test(req.name)) throw bad(`invalid network name "${req.name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    if (driver === 'host' || driver === 'null') throw new TsdError('DENIED', `only one instance of "${driver}" network is allowed`);
    if (driver !== 'bridge') throw new TsdError('NOT_FOUND', `plugin "${driver}" not found`);
    const options = { ...(req.options ?? {}) };
    const mtu = options[optMtu] !== undefined ? Number(options[optMtu]) : (this.options.mtu ?? 1500);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw bad(`invalid MTU number: ${options[optMtu]}`);
    const masqueradeOpt = options[optMasquerade];
    if (masqueradeOpt !== undefined && !['true', 'false'].includes(masqueradeOpt)) throw bad(`invalid value for ${optMasquerade}: ${masqueradeOpt}`);
    const bridgeOpt = options[optBridgeName];
    if (bridgeOpt !== undefined && !ifnamePattern.test(bridgeOpt)) throw bad(`invalid bridge name ${bridgeOpt}`);
    let subnet: Subnet | undefined;
    if (req.subnet !== undefined) subnet = parseCIDR(req.subnet);
    let gatewayIp: number | undefined;
    if (req.gateway !== undefined) {
      if (subnet === undefined) throw bad('no matching subnet for gateway: a gateway needs --subnet');
      gatewayIp = parseIPv4(req.gateway);
      const { first, last } = hostRange(subnet);
      if (!contains(subnet, gatewayIp) || gatewayIp < first || gatewayIp > last) throw bad(`no matching subnet for gateway ${req.gateway}`);
    }
    const id = newId();
    const record = await this.mutate(async (draft) => {
      if (draft.networks.some((n) => n.name === req.name)) throw new TsdError('ALREADY_EXISTS', `network with name ${req.name} already exists`);
      const bridge = bridgeOpt ?? `br-${id.slice(0, 12)}`;
      if (draft.networks.some((n) => n.bridge === bridge) || (await linkKind(bridge)) !== undefined) {
        throw new TsdError('ALREADY_EXISTS', `bridge name ${bridge} is already in use`);
      }
      if (subnet !== undefined) {
        if (this.takenSubnets(draft).some((t) => overlaps(t, subnet!))) throw new TsdError('ALREADY_EXISTS', 'Pool overlaps with other one on this address space');
      } else {
        subnet = pickSubnet(this.pools, await this.takenWithRoutes(draft));
      }
      const gateway = gatewayIp ?? defaultGateway(subnet);
      const n: NetworkRecord = {
        id,
        name: req.name,
        driver: 'bridge',
        created: new Date().toISOString(),
        predefined: false,
        internal: req.internal ?? false,
        subnet: formatCIDR(subnet),
        gateway: formatIPv4(gateway),
        bridge,
        mtu,
        masquerade: masqueradeOpt === undefined ? (this.options.ipMasq ?? true) : masqueradeOpt === 'true',
        options,
        labels: { ...(req.labels ?? {}) },
        endpoints: {},
      };
      try {
        await this.realize(n);
      } catch (err) {
        await this.teardown(n).catch(() => {});
        throw err;
      }
      draft.networks.push(n);
      return n;
    });
    return { Id: record.id, Warning: '' };
  }

  /** `docker network rm`. */
  async remove(idOrName: string): Promise<void> {
    await this.mutate(async (draft) => {
      const n = this.lookup(draft, idOrName);
      if (n.predefined) throw new TsdError('DENIED', `${n.name} is a pre-defined network and cannot be removed`);
      if (Object.keys(n.endpoints).length > 0) throw new TsdError('DENIED', `error while removing network: network ${n.name} id ${n.id} has active endpoints`);
      await this.teardown(n);
      draft.networks = draft.networks.filter((x) => x !== n);
    });
  }

  /** `docker network prune`: remove user-defined networks no container uses; returns their names. */
  async prune(): Promise<string[]> {
    const unused = this.state.networks.filter((n) => !n.predefined && Object.keys(n.endpoints).length === 0).map((n) => n.id);
    const removed: string[] = [];
    for (const id of unused) {
      const name = this.state.networks.find((n) => n.id === id)?.name;
      try {
        await this.remove(id);
        if (name !== undefined) removed.push(name);
      } catch (err) {
        if (!(err instanceof TsdError) || (err.code !== 'DENIED' && err.code !== 'NOT_FOUND')) throw err;
      }
    }
    return removed;
  }

  /** Whether the predefined `bridge` network exists (not with dockerd's --bridge=none). */
  hasDefaultBridge(): boolean {
    return this.state.networks.some((n) => n.predefined && n.name === 'bridge');
  }

  list(): NetworkInspect[] {
    return this.state.networks.map(networkInspect);
  }

  inspect(idOrName: string): NetworkInspect {
    return networkInspect(this.lookup(this.state, idOrName));
  }

  // ---- containers ----------------------------------------------------------------------------

  /** Attach a container: veth + address + route for a bridge, `lo` up for none, nothing for host. */
  async connect(idOrName: string, req: ConnectRequest): Promise<Attachment> {
    if (!containerIdPattern.test(req.containerId)) throw bad(`invalid container ID ${req.containerId}`);
    const extraHosts = req.extraHosts ?? [];
    const planned = await this.mutate((draft) => {
      const n = this.lookup(draft, idOrName);
      const mine = draft.networks.filter((x) => x.endpoints[req.containerId] !== undefined);
      if (n.endpoints[req.containerId]) throw new TsdError('ALREADY_EXISTS', `endpoint with name ${req.name ?? req.containerId.slice(0, 12)} already exists in network ${n.name}`);
      if (n.driver === 'host' && mine.length > 0) throw new TsdError('DENIED', 'container cannot be disconnected from host network or connected to host network');
      if (mine.some((x) => x.driver === 'host')) throw new TsdError('DENIED', 'container cannot be disconnected from host network or connected to host network');
      if ((n.driver === 'null' && mine.length > 0) || mine.some((x) => x.driver === 'null')) {
        throw new TsdError('DENIED', 'container cannot be connected to multiple networks with one of the networks in private (none) mode');
      }
      if (n.driver !== 'host' && req.netnsPath === undefined) throw bad(`connecting to network ${n.name} needs the container's network namespace`);
      if (req.ipv4Address !== undefined && (n.driver !== 'bridge' || n.predefined)) throw bad('user specified IP address is supported on user defined networks only');
      for (const h of extraHosts) parseExtraHost(h, n.gateway ?? this.defaultGateway(draft));
      const e: EndpointRecord = {
        containerId: req.containerId,
        endpointId: newId(),
        name: req.name ?? req.containerId.slice(0, 12),
        aliases: [...(req.aliases ?? [])],
      };
      if (req.hostname !== undefined) e.hostname = req.hostname;
      if (req.netnsPath !== undefined && n.driver !== 'host') e.netnsPath = req.netnsPath;
      if (req.hostsPath !== undefined) e.hostsPath = req.hostsPath;
      if (extraHosts.length > 0) e.extraHosts = [...extraHosts];
      if (n.driver === 'bridge') {
        const subnet = parseCIDR(n.subnet!);
        const used = new Set(Object.values(n.endpoints).flatMap((x) => (x.ip === undefined ? [] : [parseIPv4(x.ip)])));
        const ip = allocateAddress(
          { subnet, gateway: parseIPv4(n.gateway!), used, ...(n.lastIp !== undefined ? { lastIp: parseIPv4(n.lastIp) } : {}), networkLabel: `${n.name} (${n.id})` },
          req.ipv4Address,
        );
        if (req.ipv4Address === undefined) n.lastIp = formatIPv4(ip);
        else e.requestedIp = req.ipv4Address;
        e.ip = formatIPv4(ip);
        e.mac = macForAddress(ip);
        const ifnames = new Set(mine.map((x) => x.endpoints[req.containerId]!.ifname));
        let i = 0;
        while (ifnames.has(`eth${i}`)) i++;
        e.ifname = `eth${i}`;
        e.hostVeth = `veth${randomBytes(6).toString('hex').slice(0, 11)}`;
        e.defaultRoute = !n.internal && !mine.some((x) => x.endpoints[req.containerId]!.defaultRoute);
      }
      n.endpoints[req.containerId] = e;
      return { network: structuredClone(n), endpoint: structuredClone(e) };
    });
    const { network: n, endpoint: e } = planned;
    try {
      if (n.driver === 'bridge') {
        await attachVeth({
          bridge: n.bridge!,
          hostVeth: e.hostVeth!,
          netnsPath: e.netnsPath!,
          ifname: e.ifname!,
          mac: e.mac!,
          mtu: n.mtu ?? 1500,
          ip: e.ip!,
          prefixLen: prefixLenOf(n),
          ...(e.defaultRoute ? { defaultRouteVia: n.gateway! } : {}),
        });
      } else if (n.driver === 'null') {
        await loopbackUp(e.netnsPath!);
      }
    } catch (err) {
      await this.forget(n.id, req.containerId).catch(() => {});
      throw err;
    }
    await this.refreshHostsOf(n.id, req.containerId);
    return this.attachment(n, e);
  }

  private defaultGateway(state: State): string | undefined {
    return state.networks.find((n) => n.predefined && n.name === 'bridge')?.gateway;
  }

  private attachment(n: NetworkRecord, e: EndpointRecord): Attachment {
    const a: Attachment = { networkId: n.id, networkName: n.name, endpointId: e.endpointId };
    if (e.ip !== undefined) {
      a.ip = e.ip;
      a.prefixLen = prefixLenOf(n);
      if (e.defaultRoute) a.gateway = n.gateway!;
      a.mac = e.mac!;
      a.ifname = e.ifname!;
      a.hostVeth = e.hostVeth!;
    }
    return a;
  }

  private async forget(networkId: string, containerId: string): Promise<EndpointRecord | undefined> {
    return this.mutate((draft) => {
      const n = draft.networks.find((x) => x.id === networkId);
      const e = n?.endpoints[containerId];
      if (n && e) delete n.endpoints[containerId];
      return e;
    });
  }

  /**
   * Detach a container: its published ports on the network are closed, its veth goes (if the
   * namespace has not taken it already), its address is free.
   */
  async disconnect(idOrName: string, containerId: string): Promise<void> {
    const n = this.lookup(this.state, idOrName);
    if (!n.endpoints[containerId]) throw new TsdError('NOT_FOUND', `container ${containerId} is not connected to network ${n.name}`);
    const e = await this.forget(n.id, containerId);
    const key = `${n.id}/${containerId}`;
    for (const h of this.published.get(key) ?? []) await h.close();
    this.published.delete(key);
    if (e?.hostVeth !== undefined) await deleteLink(e.hostVeth);
    await this.refreshHostsOf(n.id, containerId);
  }

  /** Detach a container from every network (container removal, or a daemon restart finding it gone). */
  async disconnectAll(containerId: string): Promise<void> {
    for (const n of this.state.networks.filter((x) => x.endpoints[containerId] !== undefined)) await this.disconnect(n.id, containerId);
  }

  /** The networks a container is on, as container inspect's `NetworkSettings.Networks`. */
  networksOf(containerId: string): Record<string, EndpointSettings> {
    const out: Record<string, EndpointSettings> = {};
    for (const n of this.state.networks) {
      const e = n.endpoints[containerId];
      if (e) out[n.name] = endpointSettings(n, e);
    }
    return out;
  }

  /** Containers this manager has endpoints for (to reconcile with the runtime after a restart). */
  containers(): string[] {
    return [...new Set(this.state.networks.flatMap((n) => Object.keys(n.endpoints)))];
  }

  // ---- network namespaces --------------------------------------------------------------------

  netnsPath(containerId: string): string {
    if (!containerIdPattern.test(containerId)) throw bad(`invalid container ID ${containerId}`);
    return join(this.netnsDir, containerId);
  }

  /**
   * A fresh network namespace for a container (only `lo`, up), as a file the runtime setns()es
   * into: from the warm pool when it has one, else made now.
   */
  async prepareNetns(containerId: string): Promise<string> {
    const path = this.netnsPath(containerId);
    if (await lstat(path).then(() => true, () => false)) throw new TsdError('ALREADY_EXISTS', `a network namespace for ${containerId} already exists`);
    if (!(await this.pool?.take(path))) await createNetnsFiles([path]);
    return path;
  }

  /** The warm pool's state (undefined without one). */
  get netnsPoolState(): { available: number; lastError?: Error } | undefined {
    if (!this.pool) return undefined;
    return { available: this.pool.available, ...(this.pool.lastError ? { lastError: this.pool.lastError } : {}) };
  }

  /** Wait until the warm pool is refilled (tests and measurements). */
  async netnsPoolSettled(): Promise<void> {
    await this.pool?.settled();
  }

  /** Remove a namespace file made by prepareNetns (the namespace ends when no process is left in it). */
  async releaseNetns(containerId: string): Promise<void> {
    await removeNetnsFile(this.netnsPath(containerId));
  }

  /** Namespace files present (prepared and not yet released). */
  async preparedNetns(): Promise<string[]> {
    return (await readdir(this.netnsDir)).filter((f) => containerIdPattern.test(f));
  }

  // ---- names ---------------------------------------------------------------------------------

  /**
   * The /etc/hosts content for a container: localhost lines, its `--add-host` entries, its own
   * address and hostname, and every other container on its user-defined networks. A container on
   * the host network gets the host's file.
   */
  async hostsFor(containerId: string): Promise<string> {
    const nets = this.state.networks.filter((n) => n.endpoints[containerId] !== undefined);
    const own = nets.map((n) => n.endpoints[containerId]!);
    const gateway = this.defaultGateway(this.state);
    const extra = own.flatMap((e) => e.extraHosts ?? []).filter((h, i, all) => all.indexOf(h) === i);
    const extraHosts = extra.map((h) => parseExtraHost(h, nets.find((n) => n.gateway)?.gateway ?? gateway));
    if (nets.some((n) => n.driver === 'host')) return hostModeHosts(extraHosts);
    const self: HostEntry[] = [];
    const peers: HostEntry[] = [];
    for (const n of nets) {
      const me = n.endpoints[containerId]!;
      if (me.ip !== undefined) self.push({ ip: me.ip, names: [me.hostname ?? containerId.slice(0, 12)] });
      for (const other of Object.values(n.endpoints)) {
        if (other.containerId === containerId || other.ip === undefined) continue;
        const names = dnsNames(n, other);
        if (names.length > 0) peers.push({ ip: other.ip, names });
      }
    }
    return renderHosts({ extraHosts, self, peers });
  }

  /** Rewrite the hosts files of every container on a network. */
  async refreshHosts(idOrName: string): Promise<void> {
    await this.refreshHostsOf(this.lookup(this.state, idOrName).id);
  }

  /** Rewrite a container's hosts file at `path` now (and remember nothing: see ConnectRequest.hostsPath). */
  async writeHosts(containerId: string, path: string): Promise<void> {
    await rewriteInPlace(path, await this.hostsFor(containerId));
  }

  private async refreshHostsOf(networkId: string, also?: string): Promise<void> {
    const n = this.state.networks.find((x) => x.id === networkId);
    const paths = new Map<string, string>();
    for (const e of Object.values(n?.endpoints ?? {})) if (e.hostsPath !== undefined) paths.set(e.containerId, e.hostsPath);
    if (also !== undefined && !paths.has(also)) {
      const path = this.state.networks.map((x) => x.endpoints[also]?.hostsPath).find((p) => p !== undefined);
      if (path !== undefined) paths.set(also, path);
    }
    for (const [id, path] of paths) await rewriteInPlace(path, await this.hostsFor(id), { onlyIfExists: true });
  }

  // ---- ports ---------------------------------------------------------------------------------

  /**
   * Publish ports of a container on a network: the userland proxy on each host port and, with
   * iptables on, DNAT rules. Recorded in the state, so a reopened manager publishes them again.
   * The handle's close() unpublishes; disconnect() does too.
   */
  async publish(idOrName: string, containerId: string, bindings: PortBinding[]): Promise<PublishHandle> {
    const n = this.lookup(this.state, idOrName);
    const e = n.endpoints[containerId];
    if (!e || e.ip === undefined) throw new TsdError('NOT_FOUND', `container ${containerId} has no address on network ${n.name}`);
    const inner = await this.startPublishing(n, e, bindings);
    try {
      await this.mutate((draft) => {
        const de = draft.networks.find((x) => x.id === n.id)?.endpoints[containerId];
        if (!de) throw new TsdError('NOT_FOUND', `container ${containerId} is not connected to network ${n.name}`);
        de.ports = [...(de.ports ?? []), ...inner.ports];
      });
    } catch (err) {
      await inner.close();
      throw err;
    }
    const key = `${n.id}/${containerId}`;
    let closed = false;
    return {
      ports: inner.ports,
      stop: () => inner.stop(),
      close: async () => {
        if (closed || this.closed) return;
        closed = true;
        this.published.get(key)?.delete(inner);
        await inner.close();
        await this.mutate((draft) => {
          const de = draft.networks.find((x) => x.id === n.id)?.endpoints[containerId];
          if (de?.ports) de.ports = de.ports.filter((p) => !inner.ports.some((q) => samePort(p, q)));
        });
      },
    };
  }

  /** Unpublish every port of a container on a network (also those a reopen published again). */
  async unpublish(idOrName: string, containerId: string): Promise<void> {
    const n = this.lookup(this.state, idOrName);
    const key = `${n.id}/${containerId}`;
    for (const h of this.published.get(key) ?? []) await h.close();
    this.published.delete(key);
    await this.mutate((draft) => {
      const de = draft.networks.find((x) => x.id === n.id)?.endpoints[containerId];
      if (de) delete de.ports;
    });
  }

  /** NetworkSettings.Ports of a container: every port it has published, on all its networks. */
  publishedPorts(containerId: string): PortMap {
    return toPortMap(this.state.networks.flatMap((n) => n.endpoints[containerId]?.ports ?? []));
  }

  private async startPublishing(n: NetworkRecord, e: EndpointRecord, bindings: PortBinding[]): Promise<PublishHandle> {
    const handle = await this.publisher.publish({
      containerIp: e.ip!,
      bindings,
      network: { id: n.id, bridge: n.bridge! },
      endpointName: e.name,
      endpointId: e.endpointId,
    });
    const key = `${n.id}/${e.containerId}`;
    let set = this.published.get(key);
    if (!set) this.published.set(key, (set = new Set()));
    set.add(handle);
    return handle;
  }

  /** Publish again what the state records (a daemon restart); what cannot be is dropped and reported. */
  private async restorePorts(): Promise<void> {
    for (const n of this.state.networks) {
      for (const e of Object.values(n.endpoints)) {
        for (const p of e.ports ?? []) {
          try {
            await this.startPublishing(n, e, [{ containerPort: p.containerPort, protocol: p.protocol, hostIp: p.hostIp, hostPort: p.hostPort }]);
          } catch (err) {
            this.restoreErrors.push(`${e.name} ${p.hostIp}:${p.hostPort}->${p.containerPort}/${p.protocol}: ${(err as Error).message}`);
            await this.publisher.deleteRulesOf({ id: n.id, bridge: n.bridge! }, e.ip!, [p]);
            await this.mutate((draft) => {
              const de = draft.networks.find((x) => x.id === n.id)?.endpoints[e.containerId];
              if (de?.ports) de.ports = de.ports.filter((q) => !samePort(p, q));
            });
          }
        }
      }
    }
  }
}

function samePort(a: PublishedPort, b: PublishedPort): boolean {
  return a.protocol === b.protocol && a.hostIp === b.hostIp && a.hostPort === b.hostPort && a.containerPort === b.containerPort;
}
