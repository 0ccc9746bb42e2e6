/**
 * `POST /containers/{id}/attach` over a hijacked connection: 101 UPGRADED, then the container's
 * output (raw with a TTY, multiplexed frames without) and the client's bytes as its stdin; the
 * client's half-close ends the input. An attach before start (docker run) waits for the start
 * and gets the output from the first byte.
 */
import { TsdError } from '../../../shared/errors.js';
import { encodeFrame, STDERR, STDOUT } from '../../runtime/index.js';
import { parseDetachKeys } from '../../runtime/detach-keys.js';
import { readLogs } from '../containers/logs.js';
import type { DaemonContext } from '../daemon-context.js';
import { messageOf, statusOf } from '../errors.js';
import { refuseUpgrade, relay, sendUpgraded } from '../hijack.js';
import { boolParam, type ApiRequest, type UpgradeRequest } from '../request.js';

export async function attachContainerUpgrade(daemon: DaemonContext, { socket, params, query, signal, log }: UpgradeRequest): Promise<void> {
  let record;
  try {
    record = daemon.containers.record(params.id!);
  } catch (err) {
    refuseUpgrade(socket, statusOf(err), messageOf(err));
    return;
  }
  const tty = record.config.Tty ?? false;
  const stdin = boolParam(query, 'stdin');
  const stdout = boolParam(query, 'stdout');
  const stderr = boolParam(query, 'stderr');
  const stream = boolParam(query, 'stream');
  const keysSpec = query.get('detachKeys') ?? '';
  const detachKeys = keysSpec === '' ? undefined : parseDetachKeys(keysSpec);
  if (keysSpec !== '' && detachKeys === undefined) {
    refuseUpgrade(socket, 400, `Invalid detach keys (${keysSpec}) provided`);
    return;
  }
  sendUpgraded(socket, tty);
  if (boolParam(query, 'logs')) {
    const runtime = daemon.containers.runtimeOf(record.id);
    for await (const e of readLogs(runtime.logPath, runtime.spec.log.maxFile, { sinceNs: 0, untilNs: 0, follow: false, running: async () => false, signal })) {
      if ((e.stream === 'stdout' && !stdout) || (e.stream === 'stderr' && !stderr)) continue;
      const data = Buffer.from(e.log, 'utf8');
      socket.write(tty ? data : encodeFrame(e.stream === 'stderr' ? STDERR : STDOUT, data));
    }
  }
  if (!stream) {
    socket.end();
    return;
  }
  const gone = new AbortController();
  socket.once('close', () => gone.abort(new Error('the client closed the connection')));
  signal.addEventListener('abort', () => gone.abort(signal.reason), { once: true });
  daemon.events.emit('container', 'attach', record.id, { image: record.config.Image ?? record.imageId, name: record.name });
  let session;
  try {
    session = await daemon.containers.attach(record.id, { stdin, stdout, stderr }, gone.signal);
  } catch (err) {
    if (!gone.signal.aborted) log.debug({ err, container: record.id }, 'attach ended before the container ran');
    socket.end();
    return;
  }
  const detached = () => daemon.events.emit('container', 'detach', record.id, { image: record.config.Image ?? record.imageId, name: record.name });
  await relay(socket, session, { tty, stdin, exit: session.exit, ...(detachKeys ? { detachKeys } : {}), onDetach: detached });
}

/** Without a connection upgrade dockerd still hijacks; this server needs the upgrade (as the docker CLI asks). */
export function attachContainerPlain(_daemon: DaemonContext, _request: ApiRequest): void {
  throw new TsdError('INVALID_ARGUMENT', 'attach needs a connection upgrade (Connection: Upgrade, Upgrade: tcp)');
}
