/** Exec endpoints: `POST /containers/{id}/exec`, `POST /exec/{id}/start` (hijacked or detached), `/resize`, `GET /exec/{id}/json`. */
import { parseDetachKeys } from '../../runtime/detach-keys.js';
import { TsdError } from '../../../shared/errors.js';
import { encodeFrame, STDOUT } from '../../runtime/index.js';
import type { ExecConfig } from '../containers/exec.js';
import type { DaemonContext } from '../daemon-context.js';
import { badParameter, messageOf, statusOf } from '../errors.js';
import { readUpgradeBody, refuseUpgrade, relay, sendUpgraded } from '../hijack.js';
import { readJSON, type ApiRequest, type UpgradeRequest } from '../request.js';
import { sendJSON } from '../respond.js';

interface ExecStartBody {
  Detach?: boolean;
  Tty?: boolean;
  ConsoleSize?: [number, number] | null;
}

function execEvent(daemon: DaemonContext, action: string, containerId: string, execId: string, cmd: string[]): void {
  const record = daemon.containers.record(containerId);
  daemon.events.emit('container', `${action}: ${cmd.join(' ')}`, containerId, { execID: execId, image: record.config.Image ?? record.imageId, name: record.name });
}

export async function createExecHandler(daemon: DaemonContext, { req, res, params }: ApiRequest): Promise<void> {
  const body = await readJSON<ExecConfig>(req);
  const exec = await daemon.execs.create(params.id!, body);
  execEvent(daemon, 'exec_create', exec.containerId, exec.id, exec.config.Cmd ?? []);
  sendJSON(res, 201, { Id: exec.id });
}

export function inspectExecHandler(daemon: DaemonContext, { res, params }: ApiRequest): void {
  sendJSON(res, 200, daemon.execs.inspect(params.id!));
}

export function resizeExecHandler(daemon: DaemonContext, { res, params, query }: ApiRequest): void {
  const h = Number(query.get('h'));
  const w = Number(query.get('w'));
  if (!Number.isInteger(h) || !Number.isInteger(w)) throw badParameter('invalid resize dimensions');
  daemon.execs.resize(params.id!, { rows: h, cols: w });
  res.statusCode = 200;
  res.setHeader('Content-Length', 0);
  res.end();
}

function sizeOf(body: ExecStartBody): { rows: number; cols: number } | undefined {
  const s = body.ConsoleSize;
  return s && s[0] > 0 && s[1] > 0 ? { rows: s[0], cols: s[1] } : undefined;
}

/** Detached (`docker exec -d`): started, its output dropped, answered at once. */
export async function startExecHandler(daemon: DaemonContext, { req, res, params }: ApiRequest): Promise<void> {
  const body = await readJSON<ExecStartBody>(req).catch(() => ({}) as ExecStartBody);
  const exec = daemon.execs.get(params.id!);
  if (!body.Detach) throw badParameter('an attached exec start needs a connection upgrade (Connection: Upgrade, Upgrade: tcp)');
  const size = sizeOf(body);
  const started = await daemon.execs.start(exec.id, { ...(body.Tty !== undefined ? { tty: body.Tty } : {}), ...(size ? { consoleSize: size } : {}) });
  if ('error' in started) throw new TsdError(started.exitCode === 127 ? 'NOT_FOUND' : 'INVALID_ARGUMENT', started.error, { status: 500 });
  execEvent(daemon, 'exec_start', exec.containerId, exec.id, exec.config.Cmd ?? []);
  started.session.stdout.resume();
  started.session.stderr.resume();
  started.session.stdin.end();
  void started.exit.then(() => execEvent(daemon, 'exec_die', exec.containerId, exec.id, exec.config.Cmd ?? [])).catch(() => {});
  res.statusCode = 200;
  res.setHeader('Content-Length', 0);
  res.end();
}

export async function startExecUpgrade(daemon: DaemonContext, { req, socket, head, params }: UpgradeRequest): Promise<void> {
  let body: ExecStartBody = {};
  let rest: Buffer = Buffer.alloc(0);
  try {
    const read = await readUpgradeBody(req, socket, head);
    rest = read.rest;
    if (read.body.length > 0) body = JSON.parse(read.body.toString('utf8')) as ExecStartBody;
  } catch (err) {
    refuseUpgrade(socket, 400, `invalid exec start request: ${messageOf(err)}`);
    return;
  }
  let exec;
  let started;
  try {
    exec = daemon.execs.get(params.id!);
    const size = sizeOf(body);
    started = await daemon.execs.start(exec.id, { ...(body.Tty !== undefined ? { tty: body.Tty } : {}), ...(size ? { consoleSize: size } : {}) });
  } catch (err) {
    refuseUpgrade(socket, statusOf(err), messageOf(err));
    return;
  }
  const tty = body.Tty ?? exec.config.Tty ?? false;
  sendUpgraded(socket, tty);
  if ('error' in started) {
    const text = Buffer.from(`${started.error}\r\n`);
    socket.end(tty ? text : encodeFrame(STDOUT, text));
    return;
  }
  execEvent(daemon, 'exec_start', exec.containerId, exec.id, exec.config.Cmd ?? []);
  const exit = started.exit.then(() => execEvent(daemon, 'exec_die', exec.containerId, exec.id, exec.config.Cmd ?? []));
  const detachKeys = exec.config.DetachKeys ? parseDetachKeys(exec.config.DetachKeys) : undefined;
  await relay(socket, started.session, { tty, stdin: exec.config.AttachStdin ?? false, rest, exit, ...(detachKeys ? { detachKeys } : {}) });
}
