// Run by pull-crash.test.ts and killed with SIGKILL part way: pulls one image into a data root,
// printing each progress message as a JSON line, then `done`.
import { openEngine } from '../../engine/images/open-engine.js';
import { pullImage } from '../../engine/images/pull.js';

const [dataRoot, driver, reference] = process.argv.slice(2) as [string, 'overlay' | 'vfs', string];
const engine = await openEngine({ dataRoot, storageDriver: driver, unpackWorkers: 2 });
await pullImage(engine, reference, { onMessage: (m) => process.stdout.write(`${JSON.stringify(m)}\n`) });
process.stdout.write('done\n');
await engine.close();
