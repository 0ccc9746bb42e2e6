// The busybox image of the CLI's container tests (test/helpers/busybox-image.ts builds it): a user
// `app` with a home and a supplementary group, a file to delete, PATH=/bin and a label that
// docker's defaults do not give.
import { writeBusyboxArchive as writeArchive, type BusyboxOptions } from '../helpers/busybox-image.js';
import type { TestImage } from '../helpers/images.js';

const cliImage: BusyboxOptions = {
  config: { Env: ['PATH=/bin'], Labels: { 'org.tsdocker.test': 'busybox' } },
  passwd: ['root:x:0:0:root:/root:/bin/sh', 'app:x:1000:1000:app user:/home/app:/bin/sh', 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false'],
  group: ['root:x:0:', 'staff:x:50:app', 'app:x:1000:', 'nogroup:x:65534:'],
  dirs: ['bin', 'etc', 'home', 'root', 'var', 'home/app'],
  files: { 'etc/image-file': 'from the image\n' },
  createdBy: 'busybox-static with its applets',
};

/** Write the CLI tests' busybox image as a `docker save` archive tagged `tags`. */
export function writeBusyboxArchive(file: string, tags: string[]): Promise<TestImage> {
  return writeArchive(file, tags, cliImage);
}
