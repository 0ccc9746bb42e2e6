import { readFile } from 'node:fs/promises';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { TsdError } from '../shared/errors.js';
import { createApp } from './app.js';
import { setupAuth, type AuthConfig } from './auth/setup.js';
import { loadConfig, parseListenAddress, type RegistryConfig } from './config.js';
import { parseDuration } from './duration.js';
import { garbageCollectCommand } from './gc/command.js';
import { startMaintenance } from './gc/schedule.js';
import { setupOperations } from './operations.js';
import { openRegistry } from './open-registry.js';
import { createLogger } from './log.js';
import { enablePullThrough } from './proxy/setup.js';

const usage = `Usage: tsdocker-registry <command> [CONFIG]

Commands:
  serve [CONFIG]   run the registry (CONFIG: a distribution-style YAML file; REGISTRY_* variables override it)
  garbage-collect [--dry-run] [--delete-untagged] [--grace 1h] CONFIG
                   remove blobs no manifest references; safe while the registry serves
  version          print the version
  help             print this help
`;

export interface RunningServer {
  server: Server;
  address: { host: string; port: number };
  close(): Promise<void>;
}

/** Start serving `config`: used by `serve` and by tests that want the server in-process. */
export async function serve(config: RegistryConfig): Promise<RunningServer> {
  const log = createLogger(config.log.level);
  const { registry, backend, driver: driverName } = await openRegistry(config);
  const pullThrough = config.proxy ? enablePullThrough(registry, config.proxy, log) : undefined;
  const auth = await setupAuth(config.auth as AuthConfig | undefined, backend, log);
  const ops = setupOperations(config, registry, backend, log);
  const app = createApp(registry, log, {
    ...ops.appOptions,
    deleteEnabled: config.storage.delete.enabled,
    readOnly: Boolean(config.storage.maintenance?.readonly?.enabled),
    maxCatalogEntries: config.catalog?.maxentries ?? 1000,
    accessLog: !config.log.accesslog?.disabled,
    readOnlyRepository: pullThrough?.readOnlyRepository,
  }, auth);
  const tls = config.http.tls;
  const serverOptions = { keepAliveTimeout: 65_000, requestTimeout: 0 };
  let server: Server;
  if (tls?.certificate || tls?.key) {
    if (!tls.certificate || !tls.key) throw new TsdError('CONFIG_INVALID', 'http.tls needs both certificate and key');
    const [cert, key] = await Promise.all([readFile(tls.certificate), readFile(tls.key)]).catch((err: Error) => {
      throw new TsdError('CONFIG_INVALID', `cannot read TLS certificate or key: ${err.message}`);
    });
    server = createHttpsServer({ ...serverOptions, cert, key }, app);
  } else {
    server = createHttpServer(serverOptions, app);
  }
  const { host, port } = parseListenAddress(config.http.addr);
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolveListen());
  });
  const addr = server.address();
  const address = typeof addr === 'object' && addr ? { host: addr.address, port: addr.port } : { host: host ?? '::', port };
  const maintenance = startMaintenance(registry, config, log);
  ops.watch({ maintenance, pullThrough });
  const debug = await ops.startDebugListener();
  log.info({ addr: `${address.host}:${address.port}`, tls: Boolean(tls?.certificate), auth: auth.controller.kind, storage: driverName }, 'listening');
  return {
    server,
    address,
    close: async () => {
      ops.stop();
      await debug?.close();
      await maintenance.stop();
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeIdleConnections();
      });
      await pullThrough?.close();
    },
  };
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      const config = await loadConfig(rest[0]);
      const running = await serve(config);
      // Graceful: stop accepting, let requests in flight finish for up to http.draintimeout;
      // an upload cut off then keeps what it received and can be resumed.
      const drainMs = config.http.draintimeout === undefined ? 10_000 : parseDuration(config.http.draintimeout, 'http.draintimeout');
      const stop = () => {
        void running.close().then(() => process.exit(0));
        setTimeout(() => process.exit(0), drainMs).unref();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      return new Promise<number>(() => {});
    }
    case 'garbage-collect':
      return garbageCollectCommand(rest);
    case 'version':
    case '--version':
      process.stdout.write('tsdocker-registry 0.1.0\n');
      return 0;
    case 'help':
    case '--help':
    case '-h':
    case undefined:
      process.stdout.write(usage);
      return command === undefined ? 1 : 0;
    default:
      throw new TsdError('INVALID_ARGUMENT', `unknown command "${command}"\n${usage}`);
  }
}
