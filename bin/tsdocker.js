#!/usr/bin/env node
// Thin launcher: the compiled entry point lives in dist/ (built by `npm install` via the prepare script).
// It exits as soon as the command is done: a prompt leaves stdin open, which would keep Node alive
// (stdout and stderr writes are synchronous on pipes, files and terminals here, so nothing is lost).
import { main } from '../dist/engine/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`tsdocker: ${err?.message ?? err}\n`);
    process.exit(1);
  },
);
