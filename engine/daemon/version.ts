/** The daemon's own version (the package's) and the name it gives in the Server header. */
import { readFileSync } from 'node:fs';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

export const daemonVersion = packageVersion();
export const serverHeader = `tsdockerd/${daemonVersion} (linux)`;
