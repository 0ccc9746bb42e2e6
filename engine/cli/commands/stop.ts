/**
 * `tsdocker stop [-s SIGNAL] [-t SECONDS] CONTAINER...` and `tsdocker restart` (also under
 * `container`): POST /containers/{id}/stop or /restart for each, in parallel, names printed in
 * order, failures joined at the end.
 */
import { Option } from 'commander';
import type { CommandSpec } from '../command-kit.js';
import { containerPath } from '../container/container-api.js';
import { eachContainer } from '../container/each-container.js';
import { flagValue, goInt } from '../container/flag-values.js';

interface StopOptions {
  signal?: string;
  timeout?: number;
  time?: number;
}

function stopLike(action: 'stop' | 'restart', description: string): CommandSpec<StopOptions> {
  return {
    usage: '[OPTIONS] CONTAINER [CONTAINER...]',
    description,
    args: { min: 1 },
    options: (c) =>
      c
        .option('-s, --signal <string>', 'Signal to send to the container')
        .option('-t, --timeout <int>', 'Seconds to wait before killing the container', flagValue(goInt))
        .addOption(new Option('--time <int>').argParser(flagValue(goInt)).hideHelp()),
    async run(ctx, names, options) {
      const timeout = options.timeout ?? options.time;
      await eachContainer(ctx, names, (name) =>
        ctx.api.call({ method: 'POST', path: containerPath(name, `/${action}`), query: { t: timeout, signal: options.signal || undefined } }),
      );
    },
  };
}

export const stopCommand = stopLike('stop', 'Stop one or more running containers');
export const restartCommand = stopLike('restart', 'Restart one or more containers');
