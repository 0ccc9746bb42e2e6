/**
 * Messages between the library, the shim and the init/exec processes.
 *
 * Attach socket (frames.ts): a client's first frame is a control frame naming the operation:
 *   {"op":"attach","stdin":true,"stdout":true,"stderr":true}  stream the container's stdio;
 *       then stdin frames, {"resize":{rows,cols}}, {"closeStdin":true} from the client,
 *       output frames and finally {"exit":ExitStatus} from the shim.
 *   {"op":"exec", ...ExecRequest}  run one more process in the container; the shim answers
 *       {"started":{"pid"}} or {"error","exitCode"}, relays its stdio like attach, and ends with
 *       {"exit":{"exitCode"}}.
 *   {"op":"signal","signal":"SIGTERM"}  answered {"ok":true} or {"error"}.
 *   {"op":"wait"}  answered {"exit":ExitStatus} when the container exits.
 */
import type { Mount } from '../snapshots/snapshotter.js';
import type { BindMountSpec, NetworkSpec, ProcessSpec, TmpfsMountSpec } from './spec.js';

export interface ExitStatus {
  exitCode: number;
  oomKilled: boolean;
  /** Why the container could not start (its exit code is then 126/127/128). */
  error?: string;
  finishedAt: string;
}

export interface ExecRequest {
  process: ProcessSpec;
  /** The client sends stdin (otherwise the process gets /dev/null). */
  stdin: boolean;
  consoleSize?: { rows: number; cols: number };
}

export type ClientHello =
  | { op: 'attach'; stdin?: boolean; stdout?: boolean; stderr?: boolean; fromStart?: boolean }
  | ({ op: 'exec' } & ExecRequest)
  | { op: 'signal'; signal: string }
  | { op: 'wait' };

export type ClientControl = { resize: { rows: number; cols: number } } | { closeStdin: true };

/** What the shim hands the init (container) or exec process, on fd 4. */
export type InitRequest = ContainerInitRequest | ExecInitRequest;

export interface ContainerInitRequest {
  mode: 'container';
  process: ProcessSpec;
  /** Without a TTY: keep the stdin pipe (docker -i); otherwise fd 0 becomes the container's /dev/null. */
  openStdin: boolean;
  rootfs: Mount[];
  /** Host directory the rootfs is mounted on (in the init's private mount namespace). */
  rootfsDir: string;
  readonlyRootfs: boolean;
  hostname: string;
  binds: BindMountSpec[];
  tmpfs: TmpfsMountSpec[];
  /** Host files bind-mounted to /etc/hosts, /etc/hostname, /etc/resolv.conf. */
  etcFiles: Array<{ source: string; destination: string }>;
  network: NetworkSpec;
  /** Cgroup.joinFiles(): written "0" by the main thread just before it execs. */
  cgroupProcs: string[];
  /** Unshare a cgroup namespace after joining the cgroup (docker's default on cgroup v2). */
  cgroupNamespace: boolean;
}

export interface ExecInitRequest {
  mode: 'exec';
  process: ProcessSpec;
  /** Without a TTY: keep the stdin pipe (docker exec -i); otherwise fd 0 becomes the container's /dev/null. */
  openStdin: boolean;
  /** Host PID of the container's init, whose namespaces the exec process joins. */
  targetPid: number;
  cgroupProcs: string[];
}

/** Written on fd 3 by an init or exec process that fails before execve. */
export interface InitFailure {
  message: string;
  exitCode: number;
}
