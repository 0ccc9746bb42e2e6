#!/usr/bin/env node
// Thin launcher: the compiled entry point lives in dist/ (built by `npm install` via the prepare script).
import { main } from '../dist/server/main.js';

main(process.argv.slice(2)).then(
  (code) => { if (typeof code === 'number') process.exitCode = code; },
  (err) => {
    process.stderr.write(`tsdocker-registry: ${err?.message ?? err}\n`);
    process.exit(1);
  },
);
