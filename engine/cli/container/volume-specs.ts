/**
 * `-v/--volume [SOURCE:]TARGET[:OPTIONS]` as docker splits it: with a source (a host path or a
 * volume name) it is a bind for HostConfig.Binds (a relative `./dir` made absolute first),
 * without one an anonymous volume for Config.Volumes. `--tmpfs PATH[:OPTIONS]` goes to
 * HostConfig.Tmpfs.
 */
import { resolve } from 'node:path';
import { CliError } from '../cli-error.js';

export interface VolumeFlags {
  binds: string[];
  anonymous: Record<string, Record<string, never>>;
}

/** Source and target of one spec, or a CliError with docker's words. */
function split(spec: string): { source: string; target: string } {
  if (spec.length === 0) throw new CliError('invalid empty volume spec');
  if (spec.length <= 2) return { source: '', target: spec };
  const fields = spec.split(':');
  if (fields.some((f) => f === '')) throw new CliError(`invalid spec: ${spec}: empty section between colons`);
  if (fields.length === 1) return { source: '', target: spec };
  if (fields.length > 3) throw new CliError(`invalid spec: ${spec}: too many colons`);
  return { source: fields[0]!, target: fields[1]! };
}

export function parseVolumes(specs: string[], cwd: string = process.cwd()): VolumeFlags {
  const result: VolumeFlags = { binds: [], anonymous: {} };
  for (const spec of specs) {
    const { source, target } = split(spec);
    if (source === '') {
      result.anonymous[target] = {};
      continue;
    }
    if (source.startsWith('.')) {
      result.binds.push(`${resolve(cwd, source)}${spec.slice(source.length)}`);
      continue;
    }
    result.binds.push(spec);
  }
  return result;
}

export function parseTmpfs(specs: string[]): Record<string, string> | undefined {
  if (specs.length === 0) return undefined;
  const tmpfs: Record<string, string> = {};
  for (const spec of specs) {
    const colon = spec.indexOf(':');
    if (colon < 0) tmpfs[spec] = '';
    else tmpfs[spec.slice(0, colon)] = spec.slice(colon + 1);
  }
  return tmpfs;
}
