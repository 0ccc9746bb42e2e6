import { isRepositoryName } from '../../shared/reference.js';

/** One entry of a token's `access` claim, and of what a request needs. */
export interface Access {
  type: string;
  name: string;
  actions: string[];
}

const hostPrefix = /^(?:[a-zA-Z0-9.-]+|\[[0-9a-fA-F:]+\])(?::\d{1,5})?\//;

/** A resource name in a scope: a repository path, optionally behind `host[:port]/` (proxied names). */
function isScopeName(type: string, name: string): boolean {
  if (type === 'registry') return name === 'catalog';
  if (type !== 'repository') return false;
  if (isRepositoryName(name)) return true;
  const m = hostPrefix.exec(name);
  if (!m) return false;
  const host = m[0].slice(0, -1);
  if (!host.includes('.') && !host.includes(':') && host !== 'localhost') return false;
  return isRepositoryName(name.slice(m[0].length));
}

const actionPattern = /^(?:\*|[a-z]+)$/;

/**
 * Parse `type:name:actions` scopes (space-separated, as in the OAuth2 form). The name may itself
 * contain `:` (`host:port/repo`), so the type ends at the first colon and the actions start after
 * the last. Malformed scopes are dropped: they can never widen access.
 */
export function parseScopes(input: string): Access[] {
  const out: Access[] = [];
  for (const scope of input.split(' ')) {
    if (scope === '' || scope.length > 1024) continue;
    const first = scope.indexOf(':');
    const last = scope.lastIndexOf(':');
    if (first <= 0 || last <= first) continue;
    const type = scope.slice(0, first);
    const name = scope.slice(first + 1, last);
    const actions = scope.slice(last + 1).split(',');
    if (!isScopeName(type, name) || actions.some((a) => !actionPattern.test(a))) continue;
    out.push({ type, name, actions: [...new Set(actions)] });
  }
  return out;
}

export function formatScope(a: Access): string {
  return `${a.type}:${a.name}:${a.actions.join(',')}`;
}

/** Does a granted set cover every action a request needs? `*` grants everything. */
export function covers(granted: Access[], needed: Access[]): boolean {
  return needed.every((need) =>
    need.actions.every((action) =>
      granted.some((g) => g.type === need.type && g.name === need.name && (g.actions.includes(action) || g.actions.includes('*'))),
    ),
  );
}
