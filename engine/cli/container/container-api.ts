/**
 * The container endpoints the commands share: paths, inspect, attach (hijacked), start, resize of
 * a container's or an exec's TTY, and exec inspect.
 */
import type { CliContext } from '../context.js';
import type { Hijacked } from '../engine-api.js';

export const containerPath = (id: string, rest = '') => `/containers/${encodeURIComponent(id)}${rest}`;

export interface ContainerJSON {
  Id: string;
  Name: string;
  Config: { Tty: boolean; OpenStdin: boolean; Image?: string };
  HostConfig: { AutoRemove?: boolean };
  State: { Running: boolean; Paused: boolean; Restarting: boolean; ExitCode?: number; Status?: string };
  NetworkSettings?: { Ports?: Record<string, Array<{ HostIp: string; HostPort: string }> | null> | null };
}

export function inspectContainer(ctx: CliContext, id: string): Promise<ContainerJSON> {
  return ctx.api.json<ContainerJSON>({ method: 'GET', path: containerPath(id, '/json') });
}

export interface AttachStreams {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export function attachContainer(ctx: CliContext, id: string, streams: AttachStreams, detachKeys: string | undefined): Promise<Hijacked> {
  return ctx.api.upgrade({
    method: 'POST',
    path: containerPath(id, '/attach'),
    query: {
      stream: true,
      stdin: streams.stdin || undefined,
      stdout: streams.stdout || undefined,
      stderr: streams.stderr || undefined,
      detachKeys: detachKeys || undefined,
    },
  });
}

export function startContainer(ctx: CliContext, id: string): Promise<void> {
  return ctx.api.call({ method: 'POST', path: containerPath(id, '/start') });
}

export function resizeTty(ctx: CliContext, target: { container: string } | { exec: string }, size: { height: number; width: number }): Promise<void> {
  const path = 'exec' in target ? `/exec/${encodeURIComponent(target.exec)}/resize` : containerPath(target.container, '/resize');
  return ctx.api.call({ method: 'POST', path, query: { h: size.height, w: size.width } });
}
