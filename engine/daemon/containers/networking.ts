/**
 * A container's network life, as dockerd's: at each start a fresh network namespace joins the
 * container's networks (veth, address, routes, /etc/hosts lines) and its ports are published on
 * its first network; at each exit all of that is released (addresses can change between runs).
 * `host` containers share the host's namespace and only get an endpoint record.
 */
import { join } from 'node:path';
import { fromPortMap, type NetworkManager, type PortBinding } from '../../network/index.js';
import type { ContainerRecord } from './record.js';

/** `-p` bindings plus, with `-P`, every exposed port that has none (on a random host port). */
export function portBindingsOf(record: ContainerRecord): PortBinding[] {
  const map = { ...(record.hostConfig.PortBindings ?? {}) };
  if (record.hostConfig.PublishAllPorts) {
    for (const key of Object.keys(record.config.ExposedPorts ?? {})) if (!map[key] || map[key]!.length === 0) map[key] = [{ HostIp: '', HostPort: '' }];
  }
  return fromPortMap(map);
}

/**
 * The networks a start joins. As dockerd with --bridge=none: the default bridge's containers
 * are created and run all the same, with only loopback in their namespace.
 */
export function networksToJoin(net: NetworkManager, names: string[]): string[] {
  return names.filter((name) => name !== 'bridge' || net.hasDefaultBridge());
}

export function primaryNetwork(record: ContainerRecord): string {
  return Object.keys(record.networks)[0] ?? 'bridge';
}

export async function connectNetworks(net: NetworkManager, record: ContainerRecord, stateDir: string, hostname: string): Promise<void> {
  const id = record.id;
  const primary = primaryNetwork(record);
  if (primary === 'host') {
    await net.connect('host', { containerId: id, name: record.name });
    return;
  }
  // A namespace left by a daemon that died mid-start.
  await net.disconnectAll(id).catch(() => {});
  await net.releaseNetns(id).catch(() => {});
  const netnsPath = await net.prepareNetns(id);
  try {
    const joined = networksToJoin(net, Object.keys(record.networks));
    for (const name of joined) {
      const choice = record.networks[name]!;
      await net.connect(name, {
        containerId: id,
        name: record.name,
        netnsPath,
        hostname,
        aliases: choice.aliases,
        ...(choice.ipv4Address ? { ipv4Address: choice.ipv4Address } : {}),
        hostsPath: join(stateDir, 'hosts'),
        extraHosts: record.hostConfig.ExtraHosts ?? [],
      });
    }
    const bindings = portBindingsOf(record);
    if (bindings.length > 0 && joined.includes(primary) && primary !== 'none') await net.publish(primary, id, bindings);
  } catch (err) {
    await releaseNetworks(net, id);
    throw err;
  }
}

/** Leave every network and drop the namespace file (the namespace ends with its last process). */
export async function releaseNetworks(net: NetworkManager, id: string): Promise<void> {
  await net.disconnectAll(id);
  await net.releaseNetns(id).catch(() => {});
}
