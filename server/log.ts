import { pino, type Logger } from 'pino';

export type { Logger };

const levels = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace']);

/** Structured JSON logs on stdout (distribution's `log.level` values; `warning` accepted as `warn`). */
export function createLogger(level = 'info', destination?: NodeJS.WritableStream): Logger {
  const normalised = level === 'warning' ? 'warn' : level === 'panic' ? 'fatal' : level;
  return pino(
    {
      level: levels.has(normalised) ? normalised : 'info',
      base: { service: 'tsdocker-registry' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: ['req.headers.authorization', 'headers.authorization', 'password', 'token'], censor: '[redacted]' },
    },
    (destination ?? pino.destination({ dest: 1, sync: false })) as pino.DestinationStream,
  );
}
