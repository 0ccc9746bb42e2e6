/** Container networking: none, host and bridge networks, addresses, NAT, published ports, names. */
export { NetworkManager, type Attachment, type ConnectRequest, type CreateNetworkRequest, type DefaultBridgeOptions, type NetworkManagerOptions } from './manager.js';
export { defaultAddressPools, type AddressPool } from './ipam.js';
export { fromPortMap, parsePublish, toPortMap, type PortBinding, type PortMap, type Protocol, type PublishedPort } from './ports.js';
export { PortPublisher, type PublishHandle, type PublishRequest } from './publish.js';
export { hostModeHosts, parseExtraHost, renderHosts, rewriteInPlace, type ExtraHost, type HostEntry } from './hosts.js';
export { createNetnsFiles, removeNetnsFile, withNetnsName } from './netns.js';
export type { EndpointSettings, NetworkInspect } from './views.js';
