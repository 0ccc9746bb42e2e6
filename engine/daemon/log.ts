/**
 * The daemon's logs on stderr: pino's JSON lines (`--log-format json`), or dockerd's text form
 * (`time="..." level=info msg="..." key=value`, the default, as dockerd's).
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };
export type LogFormat = 'text' | 'json';

/** dockerd's `--log-level` values, mapped onto pino's. */
const levels: Record<string, string> = { debug: 'debug', info: 'info', warn: 'warn', warning: 'warn', error: 'error', fatal: 'fatal', panic: 'fatal', trace: 'trace' };
const names: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warning', 50: 'error', 60: 'fatal' };

export function logLevelOf(level: string): string | undefined {
  return levels[level.toLowerCase()];
}

function quote(value: unknown): string {
  const s = typeof value === 'string' ? value : JSON.stringify(value);
  return /^[A-Za-z0-9_./:@+-]+$/.test(s) ? s : JSON.stringify(s);
}

/** One pino JSON line as a logrus text line. */
export function textLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { time, level, msg, pid: _pid, hostname: _hostname, ...fields } = entry;
  const parts = [`time=${quote(time)}`, `level=${names[level as number] ?? String(level)}`, `msg=${quote(msg ?? '')}`];
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) parts.push(`${k}=${quote(v)}`);
  return `${parts.join(' ')}\n`;
}

function textDestination(out: NodeJS.WritableStream): DestinationStream {
  return { write: (line: string) => void out.write(textLine(line)) };
}

export function createDaemonLogger(options: { level?: string; format?: LogFormat; destination?: NodeJS.WritableStream } = {}): Logger {
  const out = options.destination ?? process.stderr;
  return pino(
    {
      level: logLevelOf(options.level ?? 'info') ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['password', 'auth', 'identitytoken', 'registrytoken', 'headers["x-registry-auth"]'], censor: '[redacted]' },
    },
    options.format === 'json' ? (out as DestinationStream) : textDestination(out),
  );
}
