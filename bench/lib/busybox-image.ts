/**
 * The one busybox image every runner of bench/engine-run.ts starts: the runtime tests' rootfs
 * (test/runtime/fixture.ts: /usr/bin/busybox with its applets linked in /bin, passwd, group), as a
 * directory (runc and crun bundles), as a snapshot (our runtime library), and as a `docker load`
 * archive (dockerd, podman, tsdockerd) whose single layer is a tar of that same directory.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildBusyboxRootfs } from '../../test/runtime/fixture.js';
import { hostPlatform, MT, writeDockerArchive, type TestImage } from '../../test/helpers/images.js';

export { buildBusyboxRootfs };

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Write `<dir>/rootfs` and `<dir>/busybox.tar` (a docker archive tagged `repoTag`); returns the archive's path. */
export async function writeBusyboxArchive(dir: string, repoTag: string): Promise<string> {
  const rootfs = join(dir, 'rootfs');
  await mkdir(rootfs, { recursive: true });
  await buildBusyboxRootfs(rootfs);
  const layerFile = join(dir, 'layer.tar');
  // Top-level names rather than "." so no entry is called "./": root-owned, numeric ids.
  const tops = execFileSync('ls', ['-A', rootfs], { encoding: 'utf8' }).split('\n').filter(Boolean);
  execFileSync('tar', ['--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', layerFile, ...tops]);
  const tar = await readFile(layerFile);
  const gz = gzipSync(tar);
  const configJson = {
    created: '2024-01-01T00:00:00Z',
    architecture: hostPlatform.architecture,
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
    history: [{ created: '2024-01-01T00:00:00Z', created_by: 'tsdocker bench: busybox from /usr/bin/busybox' }],
  };
  const configBytes = Buffer.from(JSON.stringify(configJson));
  const config = { mediaType: MT.dockerConfig, digest: sha256(configBytes), size: configBytes.length, bytes: configBytes };
  const layer = { mediaType: MT.dockerLayerGzip, digest: sha256(gz), size: gz.length, bytes: gz, diffId: sha256(tar), tar, files: new Map<string, Buffer>() };
  // writeDockerArchive reads only the config and the layers' tars; the manifest is never written.
  const image: TestImage = { kind: 'image', platform: hostPlatform, config, layers: [layer], manifest: config };
  const archive = join(dir, 'busybox.tar');
  await writeDockerArchive(archive, image, [repoTag]);
  return archive;
}

/**
 * An OCI bundle for runc / crun: `runc spec`'s config.json with args ["true"], no terminal,
 * and `rootfs` pointing at the given directory (read-only, as runc spec makes it).
 */
export async function writeBundle(dir: string, rootfs: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  execFileSync('runc', ['spec', '--bundle', dir]);
  const configPath = join(dir, 'config.json');
  const config = JSON.parse(await readFile(configPath, 'utf8')) as { process: { args: string[]; terminal: boolean }; root: { path: string } };
  config.process.args = ['true'];
  config.process.terminal = false;
  config.root.path = rootfs;
  await writeFile(configPath, JSON.stringify(config, null, 2));
  return dir;
}
