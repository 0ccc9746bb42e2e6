/**
 * `docker top`: the host's `ps` with the caller's arguments, keeping the rows of the container's
 * processes (the PIDs in its cgroup), as dockerd does.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TsdError } from '../../../shared/errors.js';

const run = promisify(execFile);

export function parsePs(output: string, pids: Set<number>): { Titles: string[]; Processes: string[][] } {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  const header = lines[0] ?? '';
  const titles = header.trim().split(/\s+/);
  const pidIndex = titles.indexOf('PID');
  if (pidIndex < 0) throw new TsdError('INVALID_ARGUMENT', "Couldn't find PID field in ps output");
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    const pid = Number(fields[pidIndex]);
    if (!pids.has(pid)) continue;
    // The last column (the command) keeps its spaces.
    const row = fields.slice(0, titles.length - 1);
    row.push(fields.slice(titles.length - 1).join(' '));
    processes.push(row);
  }
  return { Titles: titles, Processes: processes };
}

export async function top(pids: number[], psArgs: string): Promise<{ Titles: string[]; Processes: string[][] }> {
  const args = psArgs.trim() === '' ? ['-ef'] : psArgs.trim().split(/\s+/);
  let stdout: string;
  try {
    ({ stdout } = await run('ps', args, { maxBuffer: 16 * 1024 * 1024 }));
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new TsdError('UNKNOWN', `Error running ps: ${(e.stderr ?? e.message).trim()}`);
  }
  return parsePs(stdout, new Set(pids));
}
