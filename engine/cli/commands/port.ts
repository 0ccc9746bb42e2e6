/** `tsdocker port CONTAINER [PRIVATE_PORT[/PROTO]]`: the published ports, `80/tcp -> 0.0.0.0:8080`. */
import { CliError } from '../cli-error.js';
import type { CommandSpec } from '../command-kit.js';
import { inspectContainer } from '../container/container-api.js';

const hostPort = (ip: string, port: string) => `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;

export const portCommand: CommandSpec = {
  usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]',
  description: 'List port mappings or a specific mapping for the container',
  args: { min: 1, max: 2 },
  async run(ctx, [name, wanted]) {
    const container = await inspectContainer(ctx, name!);
    const ports = container.NetworkSettings?.Ports ?? {};
    if (wanted) {
      const key = wanted.includes('/') ? wanted : `${wanted}/tcp`;
      const bindings = ports[key];
      if (!bindings || bindings.length === 0) throw new CliError(`Error: No public port '${wanted}' published for ${name}`);
      ctx.out(bindings.map((b) => `${hostPort(b.HostIp, b.HostPort)}\n`).join(''));
      return;
    }
    const lines: string[] = [];
    for (const key of Object.keys(ports).sort()) for (const b of ports[key] ?? []) lines.push(`${key} -> ${hostPort(b.HostIp, b.HostPort)}\n`);
    ctx.out(lines.join(''));
  },
};
