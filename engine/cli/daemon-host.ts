/**
 * Where the daemon listens, as docker spells it: `-H unix:///path`, `-H tcp://host:port`, or the
 * `DOCKER_HOST` environment variable; tsdockerd's own socket when neither is given.
 */
import { TsdError } from '../../shared/errors.js';

export const defaultDaemonHost = 'unix:///var/run/tsdocker.sock';

export type DaemonHost =
  | { kind: 'unix'; socketPath: string; text: string }
  | { kind: 'tcp'; hostname: string; port: number; text: string };

/** docker's default TCP port for a plain (non-TLS) daemon. */
const defaultTcpPort = 2375;

export function parseDaemonHost(spec: string): DaemonHost {
  const trimmed = spec.trim();
  if (trimmed.startsWith('unix://')) {
    const socketPath = trimmed.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw new TsdError('INVALID_ARGUMENT', `invalid bind address (${spec}): the unix socket path must be absolute`);
    return { kind: 'unix', socketPath, text: trimmed };
  }
  // A bare path is what some tools put into DOCKER_HOST; docker itself rejects it, and so do we.
  const tcp = /^(?:tcp|http):\/\/(\[[0-9a-fA-F:]+\]|[^:/[\]]+)(?::(\d{1,5}))?\/?$/.exec(trimmed);
  if (tcp) {
    const port = tcp[2] === undefined ? defaultTcpPort : Number(tcp[2]);
    if (port < 1 || port > 65535) throw new TsdError('INVALID_ARGUMENT', `invalid bind address (${spec}): invalid port`);
    const hostname = tcp[1]!.startsWith('[') ? tcp[1]!.slice(1, -1) : tcp[1]!;
    return { kind: 'tcp', hostname, port, text: `tcp://${tcp[1]}:${port}` };
  }
  throw new TsdError('INVALID_ARGUMENT', `invalid bind address (${spec}): use unix:///path or tcp://host:port`);
}

/** The host to use: `-H` first, then `DOCKER_HOST`, then tsdockerd's default socket. */
export function resolveDaemonHost(flag: string | undefined, env: NodeJS.ProcessEnv): DaemonHost {
  return parseDaemonHost(flag || env.DOCKER_HOST || defaultDaemonHost);
}
