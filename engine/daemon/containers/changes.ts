/**
 * `docker commit --change`: the Dockerfile instructions that edit an image config (CMD,
 * ENTRYPOINT, ENV, EXPOSE, LABEL, USER, WORKDIR, VOLUME, STOPSIGNAL), in JSON or shell form.
 */
import { TsdError } from '../../../shared/errors.js';
import { mergeEnv } from '../../runtime/index.js';
import type { ContainerConfig } from './types.js';

/** `["a","b"]` as given, or `a b` as `/bin/sh -c "a b"`. */
function commandForm(args: string): string[] {
  const t = args.trim();
  if (t.startsWith('[')) {
    try {
      const v = JSON.parse(t) as unknown;
      if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
    } catch {
      /* shell form */
    }
  }
  return ['/bin/sh', '-c', t];
}

/** `k=v k2="v 2"` or the old `k v` form. */
function pairs(args: string): Array<[string, string]> {
  const t = args.trim();
  if (!t.includes('=')) {
    const sp = t.search(/\s/);
    return sp < 0 ? [[t, '']] : [[t.slice(0, sp), t.slice(sp).trim()]];
  }
  const out: Array<[string, string]> = [];
  const re = /([^\s=]+)=("(?:[^"\\]|\\.)*"|'[^']*'|\S*)/g;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    let v = m[2]!;
    if (v.startsWith('"')) v = JSON.parse(v) as string;
    else if (v.startsWith("'")) v = v.slice(1, -1);
    out.push([m[1]!, v]);
  }
  return out;
}

export function applyChanges(config: ContainerConfig, changes: string[]): ContainerConfig {
  const out: ContainerConfig = structuredClone(config);
  for (const change of changes) {
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(change);
    if (!m) throw new TsdError('INVALID_ARGUMENT', `dockerfile parse error: ${change}`);
    const instruction = m[1]!.toUpperCase();
    const args = m[2]!;
    switch (instruction) {
      case 'CMD':
        out.Cmd = commandForm(args);
        break;
      case 'ENTRYPOINT':
        out.Entrypoint = commandForm(args);
        break;
      case 'ENV':
        out.Env = mergeEnv(out.Env ?? [], pairs(args).map(([k, v]) => `${k}=${v}`));
        break;
      case 'LABEL':
        out.Labels = { ...(out.Labels ?? {}), ...Object.fromEntries(pairs(args)) };
        break;
      case 'EXPOSE':
        out.ExposedPorts = { ...(out.ExposedPorts ?? {}) };
        for (const p of args.trim().split(/\s+/)) out.ExposedPorts[p.includes('/') ? p : `${p}/tcp`] = {};
        break;
      case 'USER':
        out.User = args.trim();
        break;
      case 'WORKDIR':
        out.WorkingDir = args.trim();
        break;
      case 'STOPSIGNAL':
        out.StopSignal = args.trim();
        break;
      case 'VOLUME': {
        out.Volumes = { ...(out.Volumes ?? {}) };
        const t = args.trim();
        const list = t.startsWith('[') ? (JSON.parse(t) as string[]) : t.split(/\s+/);
        for (const v of list) out.Volumes[v] = {};
        break;
      }
      default:
        throw new TsdError('INVALID_ARGUMENT', `${instruction} is not a valid change command`);
    }
  }
  return out;
}
