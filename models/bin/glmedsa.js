#!/usr/bin/env node
// Launcher for the compiled CLI (built by `npm run build`, which `npm ci` runs through `prepare`).
import('../dist/src/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write('glmedsa: the project is not built yet; run `npm run build` at the repository root\n');
    process.exit(1);
  }
  throw err;
});
