// A busybox image built from the machine's static busybox (busybox-static), never pulled: one
// layer with /bin/busybox, a symlink per applet, /etc/passwd and /etc/group, /tmp; written as a
// `docker load` archive (writeDockerArchive) so a test can load it into a daemon.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as tar from 'tar-stream';
import { hostPlatform, imageOf, layerOf, writeDockerArchive, type TestImage } from './images.js';

export const BUSYBOX_BIN = '/usr/bin/busybox';

/** What a test's busybox image holds besides busybox and its applets. */
export interface BusyboxOptions {
  /** Merged over the image config (Env: docker's default PATH, Cmd: ["sh"]). */
  config?: Record<string, unknown>;
  passwd?: string[];
  group?: string[];
  /** Directories (0755; /tmp is always there, 1777). */
  dirs?: string[];
  /** More files: path (no leading /) -> content. */
  files?: Record<string, string>;
  createdBy?: string;
}

const defaults: Required<BusyboxOptions> = {
  config: {},
  passwd: ['root:x:0:0:root:/root:/bin/sh', 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false'],
  group: ['root:x:0:', 'nogroup:x:65534:'],
  dirs: ['bin', 'dev', 'etc', 'proc', 'root', 'sys', 'usr', 'var'],
  files: {},
  createdBy: 'busybox from busybox-static',
};

async function layerTar(o: Required<BusyboxOptions>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = new Promise<void>((resolve, reject) => {
    pack.on('data', (c: unknown) => void chunks.push(c as Buffer));
    pack.on('end', () => resolve());
    pack.on('error', reject);
  });
  const mtime = new Date('2024-01-01T00:00:00Z');
  const dir = (name: string, mode = 0o755) => pack.entry({ name: `${name}/`, type: 'directory', mode, uid: 0, gid: 0, mtime });
  const file = (name: string, content: Buffer, mode = 0o644) => pack.entry({ name, type: 'file', mode, uid: 0, gid: 0, mtime, size: content.length }, content);
  for (const d of o.dirs) dir(d);
  dir('tmp', 0o1777);
  file('bin/busybox', readFileSync(BUSYBOX_BIN), 0o755);
  const applets = execFileSync(BUSYBOX_BIN, ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const a of applets) pack.entry({ name: `bin/${a}`, type: 'symlink', linkname: 'busybox', mode: 0o777, uid: 0, gid: 0, mtime });
  file('etc/passwd', Buffer.from(`${o.passwd.join('\n')}\n`));
  file('etc/group', Buffer.from(`${o.group.join('\n')}\n`));
  for (const [name, content] of Object.entries(o.files)) file(name, Buffer.from(content));
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** The busybox image (one layer; Cmd ["sh"]; docker's default PATH unless `options.config` says otherwise). */
export async function buildBusyboxImage(options: BusyboxOptions = {}): Promise<TestImage> {
  const o = { ...defaults, ...options };
  const layer = layerOf(await layerTar(o), 'docker');
  return imageOf([layer], {
    created: '2024-01-01T00:00:00Z',
    architecture: hostPlatform.architecture,
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], ...o.config },
    history: [{ created: '2024-01-01T00:00:00Z', created_by: o.createdBy }],
  }, 'docker');
}

/** Write the busybox image as a `docker load` archive tagged `tags`. */
export async function writeBusyboxArchive(file: string, tags: string[], options: BusyboxOptions = {}): Promise<TestImage> {
  const image = await buildBusyboxImage(options);
  await writeDockerArchive(file, image, tags);
  return image;
}
