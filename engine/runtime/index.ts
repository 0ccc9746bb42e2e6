/** engine/runtime: run containers in namespaces and cgroups through koffi (see README.md). */
export { Container, createContainer, listContainers, reattach, type AttachOptions, type AttachSession, type CreateContainerOptions, type ExecOptions, type ExecSession, type InspectedState, type StdioSession } from './container.js';
export { buildSpec, DEFAULT_PATH, envKey, mergeEnv, newContainerId, parseSize, parseTmpfs, parseVolume, type BindMountSpec, type ContainerSpec, type ImageRunConfig, type LogSpec, type NetworkSpec, type ProcessSpec, type ResourcesSpec, type RunOptions, type TmpfsMountSpec } from './spec.js';
export { isRuntimeError, RuntimeError, type RuntimeErrorReason } from './errors.js';
export { CONTROL, encodeFrame, FrameDecoder, STDERR, STDIN, STDOUT, type FrameType } from './frames.js';
export { readJsonLog, type JsonLogEntry } from './json-log.js';
export type { ExitStatus } from './protocol.js';
export type { ContainerState, ContainerStatus } from './state.js';
export { cgroupLayout, openCgroup, resolveCgroupPaths, type Cgroup, type CgroupPaths } from './cgroups.js';
export { dockerDefaultCapabilities } from './capabilities.js';
export { WarmPool, type WarmShim } from './warm-pool.js';
