import type { Access } from './access.js';

/** One access rule of the built-in token server's configuration. */
export interface AccessRule {
  /** A glob over repository names: `*` matches any run of characters (including `/`), `?` one. */
  repository?: string;
  /** `registry: catalog` rules grant the catalog. */
  registry?: string;
  /** User names; `anonymous` is the unauthenticated caller, `*` any authenticated user. */
  users?: string[];
  groups?: string[];
  actions: string[];
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

const knownActions = new Set(['pull', 'push', 'delete', '*']);

/**
 * Decides what a user may do. A token grants the intersection of what was asked and the union
 * of the actions of every rule that matches the user and the resource.
 */
export class AccessRules {
  private readonly compiled: Array<AccessRule & { pattern?: RegExp }>;

  constructor(
    rules: AccessRule[],
    private readonly groups: Record<string, string[]> = {},
  ) {
    this.compiled = rules.map((r) => ({ ...r, pattern: r.repository !== undefined ? globToRegExp(r.repository) : undefined }));
  }

  static validate(rules: unknown): AccessRule[] {
    if (rules === undefined) return [];
    if (!Array.isArray(rules)) throw new Error('auth.token.access must be a list of rules');
    return rules.map((r, i) => {
      const rule = r as AccessRule;
      if (typeof rule !== 'object' || rule === null) throw new Error(`auth.token.access[${i}] must be a mapping`);
      if ((rule.repository === undefined) === (rule.registry === undefined)) throw new Error(`auth.token.access[${i}] needs exactly one of repository or registry`);
      if (!Array.isArray(rule.actions) || rule.actions.some((a) => !knownActions.has(a))) {
        throw new Error(`auth.token.access[${i}].actions must list pull, push, delete or *`);
      }
      if (rule.users !== undefined && !Array.isArray(rule.users)) throw new Error(`auth.token.access[${i}].users must be a list`);
      if (rule.groups !== undefined && !Array.isArray(rule.groups)) throw new Error(`auth.token.access[${i}].groups must be a list`);
      return rule;
    });
  }

  private appliesTo(rule: AccessRule, user: string | undefined): boolean {
    const name = user ?? 'anonymous';
    if (rule.users?.includes(name)) return true;
    if (user !== undefined && rule.users?.includes('*')) return true;
    if (user !== undefined && rule.groups?.some((g) => this.groups[g]?.includes(user))) return true;
    return false;
  }

  /** The granted subset of `requested` for `user` (undefined: anonymous). */
  grant(user: string | undefined, requested: Access[]): Access[] {
    const out: Access[] = [];
    for (const want of requested) {
      const allowed = new Set<string>();
      for (const rule of this.compiled) {
        if (!this.appliesTo(rule, user)) continue;
        const matches =
          want.type === 'repository' ? rule.pattern?.test(want.name) === true : want.type === 'registry' && rule.registry === want.name;
        if (matches) for (const a of rule.actions) allowed.add(a);
      }
      const actions = allowed.has('*') ? want.actions : want.actions.filter((a) => allowed.has(a));
      if (actions.length > 0) out.push({ type: want.type, name: want.name, actions });
    }
    return out;
  }
}
