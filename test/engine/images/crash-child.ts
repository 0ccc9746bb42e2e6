// Run by crash.test.ts and killed with SIGKILL mid-loop: adds images (blobs first, then the
// record), moves tags, untags and removes images, forever.
import { ImageStore } from '../../../engine/images/index.js';
import { record, storedImage } from './lib.js';

const dataRoot = process.argv[2]!;
const store = await ImageStore.open(dataRoot);
process.stdout.write('ready\n');
for (let i = 0; ; i++) {
  const img = await storedImage(store, { layers: 1 });
  const r = await record(store, img, [`crash/app:${i % 5}`, `crash/other:${i}`]);
  await store.tag(r.id, `crash/moving:latest`);
  if (i % 3 === 0) await store.remove(`crash/other:${i}`);
  if (i % 4 === 0) await store.prune();
  if (i % 2 === 0) await store.untag(`crash/app:${i % 5}`).catch(() => undefined);
  process.stdout.write(`${i}\n`);
}
