// Images for the CLI tests: docker archives of random images, one with a history that exercises
// docker's history rendering (long and tabbed CREATED BY, comments, empty layers).
import { join } from 'node:path';
import { buildImage, sha256, writeDockerArchive, type TestImage } from '../helpers/images.js';

/** `image` with its config's history replaced (entries marked empty_layer add no diff_id). */
export function withHistory(image: TestImage, history: Array<Record<string, unknown>>): TestImage {
  const config = JSON.parse(image.config.bytes.toString('utf8'));
  config.history = history;
  const bytes = Buffer.from(JSON.stringify(config));
  return { ...image, config: { ...image.config, bytes, digest: sha256(bytes), size: bytes.length } };
}

/** A two-layer image whose history has every kind of row `docker history` draws. */
export async function historyImage(): Promise<TestImage> {
  const image = await buildImage({ layers: 2, fileSize: 1500 });
  return withHistory(image, [
    { created: '2023-06-01T10:00:00Z', created_by: '/bin/sh -c #(nop) ADD file:0123456789abcdef0123456789abcdef in / ', comment: 'base layer' },
    { created: '2023-06-01T10:00:01Z', created_by: '/bin/sh -c #(nop)  ENV\tPATH=/usr/local/bin:/usr/bin', empty_layer: true },
    { created: '2023-06-02T11:30:00Z', created_by: 'RUN /bin/sh -c apt-get update && apt-get install -y --no-install-recommends ca-certificates curl # buildkit', comment: 'buildkit.dockerfile.v0' },
    { created: '2023-06-02T11:30:05Z', created_by: '/bin/sh -c #(nop)  CMD ["/bin/sh"]', empty_layer: true },
  ]);
}

/** Write `image` as a `docker save` archive tagged `tags` in `dir`; returns its path. */
export async function archive(dir: string, name: string, image: TestImage, tags: string[]): Promise<string> {
  const file = join(dir, `${name}.tar`);
  await writeDockerArchive(file, image, tags);
  return file;
}
