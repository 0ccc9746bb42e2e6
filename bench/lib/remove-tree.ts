/** Remove a directory a peer program used, unmounting first whatever it left mounted below it (deepest first). */
import { readFile, rm } from 'node:fs/promises';
import { run } from '../../test/helpers/run.js';

export async function removeTree(dir: string): Promise<void> {
  const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map(unescape)
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    const r = await run('umount', [m], { allowFailure: true });
    if (r.code !== 0) await run('umount', ['-l', m], { allowFailure: true });
  }
  await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
}
