/**
 * Helper for warm-pool.test.ts: fill a warm pool, print the warm shims' PIDs on one line, then
 * wait to be killed (the test checks the shims follow their owner).
 */
import { WarmPool } from '../../engine/runtime/index.js';

const pool = new WarmPool(2);
await pool.ready();
const pids = (pool as unknown as { idle: Array<{ child: { pid: number } }> }).idle.map((e) => e.child.pid);
process.stdout.write(`${pids.join(' ')}\n`);
setInterval(() => {}, 1 << 30);
