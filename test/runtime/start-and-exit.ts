/**
 * Helper for attach.test.ts: reattach to a created container's state dir, start it, print its
 * PID and exit at once, leaving the container to its shim (a daemon restarting does the same).
 * argv: stateDir
 */
import { reattach } from '../../engine/runtime/index.js';

const c = await reattach(process.argv[2]!);
const { pid } = await c.start();
process.stdout.write(`pid=${pid}\n`);
