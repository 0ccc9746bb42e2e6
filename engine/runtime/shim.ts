/**
 * The shim: one small detached Node process per running container. Started either for one
 * container, `node shim.js <stateDir>`, or ahead of time, `node shim.js --warm` (warm-pool.ts),
 * in which case it waits for a claim `{"stateDir"}` line on fd 3. Either way it reports one JSON
 * line on fd 3 ({"pid"} once the command runs, or {"error","exitCode"}) and closes it.
 *
 * It unshares the pid, uts and ipc namespaces on its main thread and spawns the init (init.ts)
 * at once, which becomes PID 1 there and waits for its request (the network and mount namespaces
 * are the init's business, so a warm shim suits any container). It stays the container's
 * parent: it relays the container's output to the json-file log and to clients of the attach
 * socket (protocol.ts), writes stdin, resizes the TTY, delivers signals, runs exec processes (as
 * its children they land in the container's pid namespace), and records the exit status in
 * state.json. It outlives the process that started it (once claimed); the container dies with
 * it (the init has PR_SET_PDEATHSIG = SIGKILL).
 *///
// This entry loads only what unsharing and spawning the init take (koffi, child_process): the
// init's Node start-up then overlaps the loading of the rest of the shim (shim-main.ts).
import { BACKGROUND_NICE, setSessionNice } from './autogroup.js';
import { spawnContainerInit, type Spawned } from './init-spawn.js';
import * as sys from './sys-runtime.js';

const arg = process.argv[2] ?? '';

function spawnEarly(): Spawned | Error {
  try {
    if (!arg) throw new Error('usage: shim.js STATE_DIR | --warm');
    sys.unshare(sys.CLONE_NEWPID | sys.CLONE_NEWUTS | sys.CLONE_NEWIPC);
    const init = spawnContainerInit();
    // A warm init is background work until claimed, as the pool made this shim (autogroup.ts).
    if (arg === '--warm' && init.child.pid !== undefined) setSessionNice(init.child.pid, BACKGROUND_NICE);
    return init;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

const spawned = spawnEarly();
const { runShim } = await import('./shim-main.js');
runShim(arg, spawned);
