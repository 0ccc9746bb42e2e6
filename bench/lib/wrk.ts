import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface WrkOptions {
  url: string;
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  threads: number;
  connections: number;
  durationSec: number;
  /** Where to write the Lua script that sets the method. */
  scriptDir: string;
}

export interface WrkResult {
  requestsPerSec: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
  latencyAvg: string;
  raw: string;
}

const running = new Set<number>();

/** Stop any wrk still running (on SIGINT), by PID. */
export function killWrk(): void {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** Run wrk once (bounded: killed by PID if it overruns its duration by 20 s). */
export async function runWrk(o: WrkOptions): Promise<WrkResult> {
  const args = ['-t' + o.threads, '-c' + o.connections, '-d' + o.durationSec + 's'];
  for (const [k, v] of Object.entries(o.headers ?? {})) args.push('-H', `${k}: ${v}`);
  if (o.method && o.method !== 'GET') {
    const script = join(o.scriptDir, `wrk-${o.method.toLowerCase()}.lua`);
    await writeFile(script, `wrk.method = "${o.method}"\n`);
    args.push('-s', script);
  }
  args.push(o.url);
  const raw = await new Promise<string>((resolve, reject) => {
    const child = spawn('wrk', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid;
    if (pid) running.add(pid);
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      if (child.pid) process.kill(child.pid, 'SIGKILL');
    }, (o.durationSec + 20) * 1000);
    child.once('error', (e) => {
      clearTimeout(timer);
      if (pid) running.delete(pid);
      reject(e);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (pid) running.delete(pid);
      if (code === 0) resolve(out);
      else reject(new Error(`wrk exited ${code}: ${out}`));
    });
  });
  const num = (re: RegExp): number => {
    const m = raw.match(re);
    return m ? Number(m[1]) : 0;
  };
  const sock = raw.match(/Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/);
  return {
    requestsPerSec: num(/Requests\/sec:\s+([\d.]+)/),
    requests: num(/(\d+) requests in/),
    non2xx: num(/Non-2xx or 3xx responses:\s+(\d+)/),
    socketErrors: sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    latencyAvg: raw.match(/Latency\s+(\S+)/)?.[1] ?? '?',
    raw,
  };
}
