#!/usr/bin/env node
// Launcher for the compiled server (built by `npm run build`, which `npm ci` runs through `prepare`).
import('../dist/src/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write('glmedsa-server: the project is not built yet; run `npm run build` at the repository root\n');
    process.exit(1);
  }
  throw err;
});
