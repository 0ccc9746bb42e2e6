/**
 * The streaming image endpoints: `POST /images/create` (pull), `POST /images/{name}/push`,
 * `GET /images/{name}/get` and `GET /images/get?names=` (save), `POST /images/load`.
 */
import { Writable } from 'node:stream';
import type { ServerResponse } from 'node:http';
import type { Digest } from '../../../shared/digest.js';
import { formatImageReference, familiarName, parseImageReference, type ImageReference } from '../../../shared/reference.js';
import { load, save } from '../../images/archive.js';
import { familiar } from '../../images/image-store.js';
import { pullImage, type PullOptions } from '../../images/pull.js';
import { pushImage } from '../../images/push.js';
import { unpackImage } from '../../images/unpack-image.js';
import type { DaemonContext } from '../daemon-context.js';
import { badParameter, notImplemented } from '../errors.js';
import { MessageStream } from '../message-stream.js';
import { parsePlatform } from '../platform.js';
import { decodeRegistryAuth } from '../registry-auth.js';
import type { ApiRequest } from '../request.js';

/** What `fromImage` + `tag` ask for: one reference, or every tag of a repository (`docker pull -a`). */
export function pullTarget(fromImage: string, tag: string): { ref: ImageReference; allTags: boolean } {
  const ref = parseImageReference(fromImage, { defaultTag: '\0' });
  if (tag !== '') {
    // The CLI sends a digest in `tag` for name@digest.
    if (/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/.test(tag)) {
      return { ref: parseImageReference(`${formatImageReference({ domain: ref.domain, repository: ref.repository })}@${tag}`), allTags: false };
    }
    return { ref: parseImageReference(`${formatImageReference({ domain: ref.domain, repository: ref.repository })}:${tag}`), allTags: false };
  }
  if (ref.tag === '\0' && !ref.digest) return { ref: { domain: ref.domain, repository: ref.repository }, allTags: true };
  return { ref, allTags: false };
}

export async function createImage(daemon: DaemonContext, { req, res, query, signal }: ApiRequest): Promise<void> {
  if ((query.get('fromSrc') ?? '') !== '') throw notImplemented('importing an image from a tarball or URL (fromSrc)');
  const fromImage = query.get('fromImage') ?? '';
  if (fromImage === '') throw badParameter('fromImage or fromSrc is required');
  const { ref, allTags } = pullTarget(fromImage, query.get('tag') ?? '');
  const options: PullOptions = { signal };
  const platform = parsePlatform(query.get('platform') ?? '');
  if (platform) options.platform = platform;
  const credentials = decodeRegistryAuth(req.headers['x-registry-auth']);
  if (credentials) options.credentials = credentials;
  const stream = new MessageStream(res);
  options.onMessage = stream.write;
  try {
    if (allTags) {
      const tags = await daemon.engine.registry(ref.domain, credentials).listTags(ref.repository, { signal });
      let downloaded = false;
      for (const tag of tags.sort()) {
        const result = await pullImage(daemon.engine, formatImageReference({ ...ref, tag }), options);
        daemon.events.emit('image', 'pull', familiar(result.reference), { name: familiar(result.reference) });
        downloaded ||= result.status === 'downloaded';
      }
      stream.write({ status: `Status: ${downloaded ? 'Downloaded newer image for' : 'Image is up to date for'} ${familiarName(ref)}` });
    } else {
      const result = await pullImage(daemon.engine, formatImageReference(ref), options);
      daemon.events.emit('image', 'pull', familiar(result.reference), { name: familiar(result.reference) });
      // docker's closing lines, unless the pipeline wrote them itself.
      if (!stream.sent((m) => m.status?.startsWith('Digest:') === true)) stream.write({ status: `Digest: ${result.digest}` });
      if (!stream.sent((m) => m.status?.startsWith('Status:') === true)) {
        const what = result.status === 'downloaded' ? 'Downloaded newer image for' : 'Image is up to date for';
        stream.write({ status: `Status: ${what} ${familiar(formatImageReference(ref))}` });
      }
    }
  } catch (err) {
    stream.fail(err);
  }
  stream.end();
}

export async function pushImageHandler(daemon: DaemonContext, { req, res, params, query, signal }: ApiRequest): Promise<void> {
  const name = params.name!;
  const tag = query.get('tag') ?? '';
  const ref = parseImageReference(name, { defaultTag: '\0' });
  if (ref.digest) throw badParameter(`cannot push a digest reference: ${name}`);
  // The tag parameter wins over a tag in the name; no tag anywhere means every tag of the repository.
  const repository = { domain: ref.domain, repository: ref.repository };
  const chosen = tag !== '' ? tag : ref.tag !== '\0' ? ref.tag : undefined;
  const reference = formatImageReference(chosen === undefined ? repository : { ...repository, tag: chosen });
  const credentials = decodeRegistryAuth(req.headers['x-registry-auth']);
  const stream = new MessageStream(res);
  try {
    const results = await pushImage(daemon.engine, reference, { signal, onMessage: stream.write, ...(credentials ? { credentials } : {}) });
    if (!stream.sent((m) => m.aux !== undefined)) {
      for (const r of results) {
        stream.write({ status: `${r.tag}: digest: ${r.digest} size: ${r.size}` });
        stream.write({ progressDetail: {}, aux: { Tag: r.tag, Digest: r.digest, Size: r.size } });
      }
    }
  } catch (err) {
    stream.fail(err);
  }
  stream.end();
}

/**
 * A Writable onto the response that leaves the status line unsent until the first byte: a
 * failure before any output is still an error answer; the client going away fails the writer.
 */
function responseWriter(res: ServerResponse): Writable {
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (res.destroyed) return callback(new Error('the client closed the connection'));
      if (res.write(chunk)) callback();
      else res.once('drain', () => callback());
    },
  });
  res.once('close', () => {
    if (!res.writableFinished) out.destroy(new Error('the client closed the connection'));
  });
  return out;
}

export async function saveImages(daemon: DaemonContext, { res, params, query }: ApiRequest): Promise<void> {
  const names = params.name !== undefined ? [params.name] : query.getAll('names');
  if (names.length === 0) throw badParameter('no image names given (names=...)');
  res.statusCode = 200;
  res.setHeader('Content-Type', 'application/x-tar');
  const out = responseWriter(res);
  try {
    await save(daemon.engine.images, names, out);
  } catch (err) {
    out.destroy();
    // The store's `No such image: x` names it as given, as dockerd's save does.
    throw err;
  }
  res.end();
}

export async function loadImages(daemon: DaemonContext, { req, res, signal }: ApiRequest): Promise<void> {
  // load reads the body to its end; an abort (shutdown) ends it early, and load then cleans up.
  const onAbort = () => req.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
  signal.addEventListener('abort', onAbort, { once: true });
  let result;
  try {
    result = await load(daemon.engine.images, req);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  for (const { id } of result.images) {
    const record = daemon.engine.images.get(id as Digest);
    if (record) await unpackImage(daemon.engine, record, { signal });
    daemon.events.emit('image', 'load', id, { name: record?.repoTags[0] ? familiar(record.repoTags[0]) : id });
  }
  const stream = new MessageStream(res);
  for (const line of result.messages) stream.write({ stream: `${line}\n` });
  stream.end();
}
