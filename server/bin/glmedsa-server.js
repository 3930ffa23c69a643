#!/usr/bin/env node
// Launcher for the compiled server (built by `npm run build`, which `npm ci` runs through `prepare`).
// On Linux it first re-runs itself with MALLOC_ARENA_MAX set unless the operator set it
// (src/process/malloc-arenas.ts says why); the server itself runs in that child.
import { fileURLToPath } from 'node:url';

const notBuilt = (err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write('glmedsa-server: the project is not built yet; run `npm run build` at the repository root\n');
    process.exit(1);
  }
  throw err;
};

import('../dist/src/process/malloc-arenas.js')
  .then((m) => m.relaunchWithArenaCap(fileURLToPath(import.meta.url)))
  .then((relaunched) => (relaunched ? undefined : import('../dist/src/main.js')))
  .catch((err) => {
    if (err && err.code === 'ERR_MODULE_NOT_FOUND') return notBuilt(err);
    process.stderr.write(`glmedsa-server: ${err && err.message ? err.message : String(err)}\n`);
    process.exit(1);
  });
