/**
 * npm run setup:viewer [-- VERSION... | --all]: obtains pinned OHIF viewers (npm pack, sha512
 * checked, unpacked atomically into .data/ohif/<version>); the default version when none is named.
 * Does nothing for a version that is already there.
 */
import { OHIF_RELEASES, OHIF_VERSION, type OhifVersion, ViewerSetupError, ensureOhifDist, isOhifVersion } from '../src/viewer/index.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const known = Object.keys(OHIF_RELEASES);
  const versions: OhifVersion[] = args.includes('--all') ? (known as OhifVersion[]) : args.length ? [] : [OHIF_VERSION];
  for (const a of args.filter((x) => x !== '--all')) {
    if (!isOhifVersion(a)) throw new ViewerSetupError(`OHIF ${a} is not one of the pinned versions (${known.join(', ')})`);
    versions.push(a);
  }
  for (const version of versions) {
    const r = await ensureOhifDist({ version, log: say });
    if (!r.fetched) say(`viewer set-up: OHIF ${version} is already in ${r.dir}`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`setup:viewer: ${err instanceof ViewerSetupError ? err.message : `failed: ${(err as Error).message}`}\n`);
  process.exit(1);
});
