/**
 * `POST /images/{name}/tag`, `DELETE /images/{name}`, `POST /images/prune`. Removing images also
 * removes the layer snapshots no remaining image uses (shared layers stay); images containers use
 * follow dockerd's conflict rules.
 */
import { TsdError } from '../../../shared/errors.js';
import { formatImageReference, parseImageReference } from '../../../shared/reference.js';
import { familiar } from '../../images/image-store.js';
import { removeUnusedSnapshots } from '../../images/unpack-image.js';
import type { DaemonContext } from '../daemon-context.js';
import { boolFilter, parseFilters } from '../filters.js';
import { onImage } from '../image-names.js';
import { boolParam, type ApiRequest } from '../request.js';
import { sendEmpty, sendJSON } from '../respond.js';

/** `repo` (+ `tag`, which replaces a tag in `repo`) as one tag reference, as dockerd's TagImage. */
export function tagTarget(repo: string, tag: string): string {
  if (repo === '') throw new TsdError('INVALID_ARGUMENT', 'repository name must have at least one component');
  const ref = parseImageReference(repo, { defaultTag: '\0' });
  if (ref.digest) throw new TsdError('INVALID_ARGUMENT', 'refusing to create a tag with a digest reference');
  const finalTag = tag !== '' ? tag : ref.tag === '\0' ? 'latest' : ref.tag!;
  return formatImageReference({ domain: ref.domain, repository: ref.repository, tag: finalTag });
}

export async function tagImage(daemon: DaemonContext, { res, params, query }: ApiRequest): Promise<void> {
  const target = tagTarget(query.get('repo') ?? '', query.get('tag') ?? '');
  const tagged = await onImage(params.name!, () => daemon.engine.images.tag(params.name!, target));
  daemon.events.emit('image', 'tag', tagged.id, { name: familiar(target) });
  sendEmpty(res, 201);
}

/** Snapshots are cleaned after the records changed; a failure there is logged, the answer stands. */
async function dropUnusedSnapshots(daemon: DaemonContext): Promise<void> {
  try {
    const removed = await removeUnusedSnapshots(daemon.engine);
    if (removed > 0) daemon.log.debug({ removed }, 'removed unused layer snapshots');
  } catch (err) {
    daemon.log.warn({ err }, 'could not remove unused layer snapshots');
  }
}

const short = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

/**
 * dockerd's rules for images containers use: a name that is an image's only reference is not
 * removed from under a container without force (and with force only the name goes); by ID, a
 * running container's image is never removed, a stopped one's only with force.
 */
async function removeUsedImage(daemon: DaemonContext, name: string, force: boolean) {
  const images = daemon.engine.images;
  const found = await onImage(name, () => images.resolve(name));
  const image = found.image;
  const users = daemon.containers.usingImage(image.id);
  if (users.length === 0) return undefined;
  const repos = new Set([...image.repoTags, ...image.repoDigests].map((r) => r.replace(/[:@][^/:@]*$/, '')));
  const single = image.repoTags.length <= 1 && repos.size <= 1;
  if (found.via !== 'id') {
    if (!force && single) {
      throw new TsdError('ALREADY_EXISTS', `conflict: unable to remove repository reference "${name}" (must force) - container ${short(users[0]!.id)} is using its referenced image ${short(image.id)}`);
    }
    return images.untag(name);
  }
  if (!single) return undefined;
  const running = users.find((u) => u.running);
  if (running) throw new TsdError('ALREADY_EXISTS', `conflict: unable to delete ${short(image.id)} (cannot be forced) - image is being used by running container ${short(running.id)}`);
  if (!force) throw new TsdError('ALREADY_EXISTS', `conflict: unable to delete ${short(image.id)} (must be forced) - image is being used by stopped container ${short(users[0]!.id)}`);
  return undefined;
}

export async function removeImage(daemon: DaemonContext, { res, params, query }: ApiRequest): Promise<void> {
  const force = boolParam(query, 'force');
  const items = (await removeUsedImage(daemon, params.name!, force)) ?? (await onImage(params.name!, () => daemon.engine.images.remove(params.name!, { force })));
  for (const item of items) {
    if ('Untagged' in item) daemon.events.emit('image', 'untag', item.Untagged, { name: item.Untagged });
    else daemon.events.emit('image', 'delete', item.Deleted, { name: item.Deleted });
  }
  await dropUnusedSnapshots(daemon);
  sendJSON(res, 200, items);
}

export async function pruneImages(daemon: DaemonContext, { res, query }: ApiRequest): Promise<void> {
  const filters = parseFilters(query.get('filters'), ['dangling']);
  // dangling=false: every image no container uses (`docker image prune -a`).
  const all = boolFilter(filters, 'dangling', false) === false;
  const result = await daemon.engine.images.prune({ all });
  await dropUnusedSnapshots(daemon);
  sendJSON(res, 200, { ImagesDeleted: result.ImagesDeleted.length > 0 ? result.ImagesDeleted : null, SpaceReclaimed: result.SpaceReclaimed });
}
