/**
 * `WWW-Authenticate` parsing (RFC 7235): one header may hold several challenges, each a scheme
 * followed by `name=value` or `name="quoted value"` parameters, all separated by commas.
 */
export interface Challenge {
  /** Lower case: `bearer`, `basic`, ... */
  scheme: string;
  /** Parameter names in lower case. */
  params: Record<string, string>;
}

export function parseChallenges(header: string | undefined): Challenge[] {
  if (!header) return [];
  const out: Challenge[] = [];
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && (header[i] === ' ' || header[i] === '\t')) i++;
  };
  const token = () => {
    const start = i;
    while (i < n && /[!#$%&'*+\-.^_`|~0-9A-Za-z]/.test(header[i]!)) i++;
    return header.slice(start, i);
  };
  let current: Challenge | undefined;
  while (i < n) {
    skipSpace();
    if (header[i] === ',') {
      i++;
      continue;
    }
    const name = token();
    if (name === '') {
      i++; // junk: skip a character and carry on
      continue;
    }
    skipSpace();
    if (header[i] === '=' && current) {
      i++;
      skipSpace();
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < n && header[i] !== '"') {
          if (header[i] === '\\' && i + 1 < n) i++;
          value += header[i];
          i++;
        }
        i++; // closing quote
      } else {
        value = token();
      }
      current.params[name.toLowerCase()] = value;
    } else {
      // A new scheme (token68 credentials after it are not used by registries).
      current = { scheme: name.toLowerCase(), params: {} };
      out.push(current);
    }
  }
  return out;
}
