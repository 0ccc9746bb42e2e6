import { readFile, stat } from 'node:fs/promises';
import bcrypt from 'bcryptjs';
import { TsdError } from '../../shared/errors.js';
import type { Logger } from '../log.js';

const bcryptPattern = /^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$/;

/**
 * Users from an htpasswd file with bcrypt entries (`htpasswd -B`), as distribution accepts. The
 * file is re-read when it changes, checked at most every few seconds.
 */
export class Htpasswd {
  private users = new Map<string, string>();
  /** Compared against when the user does not exist, at the cost the file's own entries use (htpasswd -B writes 5), so both cases take as long. */
  private decoyHash = bcrypt.hashSync('tsdocker-decoy-password', 5);
  private loadedMtime = -1;
  private checkedAt = 0;

  constructor(
    readonly path: string,
    private readonly log?: Logger,
  ) {}

  async load(): Promise<void> {
    let text: string;
    let mtime: number;
    try {
      mtime = (await stat(this.path)).mtimeMs;
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      throw new TsdError('CONFIG_INVALID', `cannot read htpasswd file ${this.path}: ${(err as Error).message}`);
    }
    const users = new Map<string, string>();
    for (const [i, line] of text.split('\n').entries()) {
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      const colon = trimmed.indexOf(':');
      const user = trimmed.slice(0, colon);
      const hash = trimmed.slice(colon + 1);
      if (colon <= 0 || !bcryptPattern.test(hash)) {
        this.log?.warn({ file: this.path, line: i + 1 }, 'htpasswd entry ignored: only bcrypt (htpasswd -B) entries are supported');
        continue;
      }
      users.set(user, hash);
    }
    this.users = users;
    this.loadedMtime = mtime;
    const costs = [...users.values()].map((h) => Number(h.slice(4, 6)));
    const cost = costs.length > 0 ? Math.max(...costs) : 5;
    if (cost !== bcrypt.getRounds(this.decoyHash)) this.decoyHash = bcrypt.hashSync('tsdocker-decoy-password', Math.min(cost, 14));
  }

  private async refresh(): Promise<void> {
    const now = Date.now();
    if (now - this.checkedAt < 2000) return;
    this.checkedAt = now;
    try {
      if ((await stat(this.path)).mtimeMs !== this.loadedMtime) await this.load();
    } catch (err) {
      this.log?.error({ err: (err as Error).message }, 'htpasswd reload failed; keeping the previous users');
    }
  }

  /** Whether the user is (still) in the file; re-reads it when it changed, as verify does. */
  async has(user: string): Promise<boolean> {
    await this.refresh();
    return this.users.has(user);
  }

  /** Check a password; an unknown user costs the same time as a wrong password. */
  async verify(user: string, password: string): Promise<boolean> {
    await this.refresh();
    const hash = this.users.get(user);
    const ok = await bcrypt.compare(password, hash ?? this.decoyHash);
    return ok && hash !== undefined;
  }
}

/** Credentials from an `Authorization: Basic ...` header, or undefined when absent or malformed. */
export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  if (!header || header.length > 4096) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
