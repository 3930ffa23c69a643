/**
 * node server/dist/scripts/launch.js SCRIPT [args]: runs SCRIPT (a file of this folder, e.g.
 * start.js for npm start) under the malloc arena cap of src/process/malloc-arenas.ts: in a child
 * with MALLOC_ARENA_MAX set when the operator has not set it, else in this process.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { relaunchWithArenaCap } from '../src/process/malloc-arenas.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const [name] = process.argv.splice(2, 1);
if (!name || !/^[a-z][a-z0-9-]*\.js$/.test(name)) {
  process.stderr.write('usage: node launch.js SCRIPT.js [args], SCRIPT.js a file next to launch.js\n');
  process.exit(2);
}
const script = path.join(here, name);
try {
  if (!(await relaunchWithArenaCap(script))) await import(pathToFileURL(script).href);
} catch (err) {
  process.stderr.write(`${name}: ${(err as Error).message}\n`);
  process.exit(1);
}
