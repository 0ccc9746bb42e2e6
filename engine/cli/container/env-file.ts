/**
 * `--env-file FILE`: one `NAME=value` per line, as docker reads it: leading blanks and a UTF-8
 * BOM dropped, `#` comments and empty lines skipped, the value passed through untrimmed, and a
 * bare `NAME` taken from the CLI's environment (left out when unset there).
 */
import { readFile } from 'node:fs/promises';
import { CliError } from '../cli-error.js';
import { fsError } from '../fs-errors.js';

export function parseEnvFile(name: string, bytes: Buffer, env: NodeJS.ProcessEnv): string[] {
  const entries: string[] = [];
  const lines = bytes.toString('latin1').split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, index) => {
    let lineBytes = Buffer.from(raw.replace(/\r$/, ''), 'latin1');
    const text = lineBytes.toString('utf8');
    if (Buffer.from(text, 'utf8').compare(lineBytes) !== 0) {
      throw new CliError(`env file ${name} contains invalid utf8 bytes at line ${index + 1}: [${[...lineBytes].join(' ')}]`);
    }
    if (index === 0 && text.startsWith('\ufeff')) lineBytes = lineBytes.subarray(3);
    const line = lineBytes.toString('utf8').replace(/^\s+/u, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const variable = (eq < 0 ? line : line.slice(0, eq)).replace(/^[ \t]+/, '');
    if (/[ \t]/.test(variable)) throw new CliError(`poorly formatted environment: variable '${variable}' contains whitespaces`);
    if (variable === '') throw new CliError(`poorly formatted environment: no variable name on line '${line}'`);
    if (eq >= 0) entries.push(`${variable}=${line.slice(eq + 1)}`);
    else if (env[line] !== undefined) entries.push(`${variable.trim()}=${env[line]}`);
  });
  return entries;
}

/** The entries of every env file in order, then the `-e` ones. */
export async function environment(files: string[], entries: string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  const fromFiles: string[] = [];
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      throw fsError('open', file, err);
    }
    fromFiles.push(...parseEnvFile(file, bytes, env));
  }
  return [...fromFiles, ...entries];
}
