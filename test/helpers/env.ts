import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export const inCI = process.env.CI === 'true' || process.env.CI === '1';

/** Is a program on PATH? */
export function hasProgram(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/**
 * A test that needs a peer program or root: in CI a missing one fails loudly; elsewhere the test
 * is skipped with the reason shown. Returns false when the caller must return early.
 */
export function need(t: TestContext, what: { programs?: string[]; root?: boolean }): boolean {
  const missing = (what.programs ?? []).filter((p) => !hasProgram(p));
  const reasons = missing.map((p) => `${p} is not installed`);
  if (what.root && process.getuid?.() !== 0) reasons.push('needs root');
  if (reasons.length === 0) return true;
  const reason = reasons.join('; ');
  if (inCI) throw new Error(`CI=true and ${reason} (.ci/run must install it)`);
  t.skip(reason);
  return false;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/** A temporary directory removed when the test ends, pass or fail. */
export async function tempDir(t: TestContext | { after(fn: () => unknown): void }, prefix = 'tsdocker-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  // Retried, and never throwing: a process the test started may still be finishing a write when
  // the hooks run, and a hook that throws would keep the later ones (which stop processes) from running.
  t.after(() =>
    rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }).catch((err: Error) => {
      process.stderr.write(`warning: could not remove ${dir}: ${err.message}\n`);
    }),
  );
  return dir;
}

export async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Mount points at or below `dir`, deepest first. */
export async function mountsBelow(dir: string): Promise<string[]> {
  const info = await readFile('/proc/self/mountinfo', 'utf8');
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return info
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map(unescape)
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}
