/**
 * docker's `--user` / image `User` resolution against the container's /etc/passwd and /etc/group
 * (the same rules as runc's GetExecUser): "name", "uid", "uid:gid", "name:group", "uid:group",
 * "name:gid". A matched passwd entry gives the primary gid and home; when no group is given the
 * user's supplementary groups are the groups that list its name. An unknown numeric uid or gid is
 * used as it is (gid 0, home "/"); an unknown name is an error.
 */

export interface ExecUser {
  uid: number;
  gid: number;
  /** Supplementary groups (setgroups), including `--group-add`. */
  groups: number[];
  home: string;
}

interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export class UserLookupError extends Error {
  override readonly name = 'UserLookupError';
}

const ID_MAX = 0xfffffffe; // (uid_t)-1 means "unchanged" to the kernel

function parseId(s: string): number | undefined {
  if (!/^[0-9]+$/.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) && n <= ID_MAX ? n : undefined;
}

export function parsePasswd(text: string): PasswdEntry[] {
  const out: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const f = t.split(':');
    const uid = parseId(f[2] ?? '');
    const gid = parseId(f[3] ?? '');
    if (!f[0] || uid === undefined || gid === undefined) continue;
    out.push({ name: f[0], uid, gid, home: f[5] ?? '' });
  }
  return out;
}

export function parseGroup(text: string): GroupEntry[] {
  const out: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const f = t.split(':');
    const gid = parseId(f[2] ?? '');
    if (!f[0] || gid === undefined) continue;
    out.push({ name: f[0], gid, members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return out;
}

/**
 * Resolve `spec` ("" = root). `passwd` / `group` are the files' text, or undefined when the image
 * has none. `additionalGroups` are `--group-add` values (names or ids).
 */
export function resolveUser(spec: string, passwd: string | undefined, group: string | undefined, additionalGroups: string[] = []): ExecUser {
  const colon = spec.indexOf(':');
  const userArg = colon < 0 ? spec : spec.slice(0, colon);
  const groupArg = colon < 0 ? '' : spec.slice(colon + 1);
  if (colon >= 0 && (userArg === '' || groupArg === '')) throw new UserLookupError(`invalid user: ${JSON.stringify(spec)}`);
  const users = passwd === undefined ? [] : parsePasswd(passwd);
  const groups = group === undefined ? [] : parseGroup(group);

  const result: ExecUser = { uid: 0, gid: 0, groups: [], home: '/' };
  const numericUid = parseId(userArg);
  let matchedName: string | undefined;
  const entry = userArg === '' ? users.find((u) => u.uid === 0) : users.find((u) => (numericUid !== undefined ? u.uid === numericUid : u.name === userArg));
  if (entry) {
    result.uid = entry.uid;
    result.gid = entry.gid;
    result.home = entry.home || '/';
    matchedName = entry.name;
  } else if (numericUid !== undefined) {
    result.uid = numericUid;
  } else if (userArg !== '') {
    if (/[^\w.-]/.test(userArg)) throw new UserLookupError(`invalid user: ${JSON.stringify(spec)}`);
    throw new UserLookupError(`unable to find user ${userArg}: no matching entries in passwd file`);
  }

  if (groupArg !== '') {
    const numericGid = parseId(groupArg);
    const g = groups.find((x) => (numericGid !== undefined ? x.gid === numericGid : x.name === groupArg));
    if (g) result.gid = g.gid;
    else if (numericGid !== undefined) result.gid = numericGid;
    else throw new UserLookupError(`unable to find group ${groupArg}: no matching entries in group file`);
  } else if (matchedName !== undefined) {
    for (const g of groups) if (g.members.includes(matchedName) && !result.groups.includes(g.gid)) result.groups.push(g.gid);
  }

  for (const add of additionalGroups) {
    const numeric = parseId(add);
    const g = groups.find((x) => (numeric !== undefined ? x.gid === numeric : x.name === add));
    const gid = g?.gid ?? numeric;
    if (gid === undefined) throw new UserLookupError(`unable to find group ${add}: no matching entries in group file`);
    if (!result.groups.includes(gid)) result.groups.push(gid);
  }
  return result;
}
