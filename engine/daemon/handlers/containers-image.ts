/**
 * A container's filesystem: `GET /containers/{id}/changes` (docker diff), `/export` (a tar of
 * the whole filesystem) and `POST /commit` (a new image from the writable layer). The layer work
 * is engine/images/commit.ts.
 */
import { pipeline } from 'node:stream/promises';
import { TsdError } from '../../../shared/errors.js';
import type { Digest } from '../../../shared/digest.js';
import { commitContainer, diffSnapshot, exportSnapshot } from '../../images/commit.js';
import { familiar } from '../../images/image-store.js';
import { applyChanges } from '../containers/changes.js';
import type { ContainerConfig } from '../containers/types.js';
import type { DaemonContext } from '../daemon-context.js';
import { badParameter } from '../errors.js';
import { readJSON, type ApiRequest } from '../request.js';
import { sendJSON } from '../respond.js';
import { tagTarget } from './images-write.js';

export async function containerChangesHandler(daemon: DaemonContext, { res, params }: ApiRequest): Promise<void> {
  const record = daemon.containers.record(params.id!);
  const changes = await diffSnapshot(daemon.engine, record.snapshotKey);
  sendJSON(res, 200, changes.length > 0 ? changes : null);
}

export async function exportContainerHandler(daemon: DaemonContext, { res, params, signal }: ApiRequest): Promise<void> {
  const record = daemon.containers.record(params.id!);
  const tar = await exportSnapshot(daemon.engine, record.snapshotKey, { signal });
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/x-tar');
  await pipeline(tar, res, { signal });
  daemon.events.emit('container', 'export', record.id, { image: record.config.Image ?? record.imageId, name: record.name });
}

/** The config of the new image: the container's, without what belongs to one container only. */
function imageConfigOf(config: ContainerConfig): Record<string, unknown> {
  const { Hostname: _h, Domainname: _d, AttachStdin: _ai, AttachStdout: _ao, AttachStderr: _ae, Tty: _t, OpenStdin: _o, StdinOnce: _s, Image: _i, ...rest } = config;
  return { Hostname: '', Domainname: '', AttachStdin: false, AttachStdout: false, AttachStderr: false, Tty: false, OpenStdin: false, StdinOnce: false, Image: '', ...rest };
}

export async function commitHandler(daemon: DaemonContext, { req, res, query }: ApiRequest): Promise<void> {
  const containerName = query.get('container') ?? '';
  if (containerName === '') throw badParameter('container name is required');
  const record = daemon.containers.record(containerName);
  const repo = query.get('repo') ?? '';
  const tag = query.get('tag') ?? '';
  const reference = repo === '' ? undefined : tagTarget(repo, tag);
  let overrides: ContainerConfig = {};
  if (Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding']) {
    const body = await readJSON<ContainerConfig | null>(req).catch((err: unknown) => {
      if (err instanceof TsdError && err.message === 'request body is empty') return null;
      throw err;
    });
    if (body && typeof body === 'object') overrides = body;
  }
  let config: ContainerConfig = { ...record.config };
  for (const [k, v] of Object.entries(overrides)) if (v !== null && v !== undefined && !(Array.isArray(v) && v.length === 0) && v !== '') config[k] = v;
  config = applyChanges(config, query.getAll('changes').filter((c) => c.trim() !== ''));
  const image = daemon.engine.images.get(record.imageId as Digest);
  if (!image) throw new TsdError('NOT_FOUND', `No such image: ${record.imageId}`);
  const created = await commitContainer(daemon.engine, {
    snapshotKey: record.snapshotKey,
    image,
    ...(reference ? { reference } : {}),
    config: imageConfigOf(config),
    comment: query.get('comment') ?? '',
    author: query.get('author') ?? '',
    createdBy: [record.path, ...record.args].join(' '),
  });
  daemon.events.emit('container', 'commit', record.id, { comment: query.get('comment') ?? '', image: record.config.Image ?? record.imageId, imageID: created.id, imageRef: reference ? familiar(reference) : '', name: record.name });
  sendJSON(res, 201, { Id: created.id });
}
