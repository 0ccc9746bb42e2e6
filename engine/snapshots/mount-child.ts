/**
 * A tiny process for mount.ts: makes one mount(2) call from its working directory, so that
 * relative overlay paths resolve against it (see mount.ts, "Long overlay option strings").
 * argv[2] = JSON { source, target, fstype, flags, data }. Exit 0 on success, 1 with the error on stderr.
 */
import { mount } from './native.js';

try {
  const req = JSON.parse(process.argv[2] ?? '') as { source: string; target: string; fstype: string; flags: number; data: string };
  mount(req.source, req.target, req.fstype, req.flags, req.data);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
}
