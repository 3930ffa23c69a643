/**
 * npm run setup:viewer: obtains the pinned OHIF viewer (npm pack, sha512 checked, unpacked
 * atomically into .data/ohif/<version>). Does nothing when it is already there.
 */
import { ViewerSetupError, ensureOhifDist } from '../src/viewer/index.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

ensureOhifDist({ log: say }).then(
  (r) => {
    if (!r.fetched) say(`viewer set-up: OHIF is already in ${r.dir}`);
  },
  (err: unknown) => {
    process.stderr.write(`setup:viewer: ${err instanceof ViewerSetupError ? err.message : `failed: ${(err as Error).message}`}\n`);
    process.exit(1);
  },
);
