/** `tsdockerd`: parse flags and daemon.json, start the daemon, stop gracefully on SIGTERM / SIGINT. */
import { parseDaemonArgs } from './config.js';
import { startDaemon } from './daemon.js';
import { createDaemonLogger } from './log.js';

export async function main(argv: string[]): Promise<number> {
  const parsed = await parseDaemonArgs(argv);
  if (parsed.kind === 'exit') {
    process.stdout.write(parsed.stdout);
    process.stderr.write(parsed.stderr);
    return parsed.code;
  }
  const { config } = parsed;
  const log = createDaemonLogger({ level: config.logLevel, format: config.logFormat });
  if (parsed.configFile) log.info({ file: parsed.configFile }, 'loaded configuration file');
  const daemon = await startDaemon(config, log);
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      signals++;
      if (signals >= 3) {
        // dockerd's escape hatch: a third signal exits at once.
        log.warn(`Received ${signal} three times: forcing exit`);
        process.exit(1);
      }
      if (signals > 1) return;
      log.info({ signal }, `Processing signal '${signal}'`);
      daemon.stop().then(
        () => resolve(0),
        (err: Error) => {
          log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
