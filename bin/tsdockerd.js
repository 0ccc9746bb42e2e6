#!/usr/bin/env node
// Thin launcher: the compiled entry point lives in dist/ (built by `npm install` via the prepare script).
import { main } from '../dist/engine/daemon/main.js';

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`tsdockerd: ${err?.message ?? err}\n`);
    process.exit(1);
  },
);
