/**
 * Set-up of the viewer (npm run setup:viewer, npm start, the tests): obtains a pinned OHIF
 * tarball with `npm pack` (its npm install fails here), checks its sha512 against the pinned
 * integrity, and unpacks its dist into a temp folder that is renamed into place in our own data
 * folder (.data/ohif/<version>), so the target is either absent or complete. Skips all of it when
 * the target already holds that tarball's dist. A folder the operator configured
 * (`viewer.ohifDir`) is only ever read: see viewerDist.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { INTEGRITY_MARKER, OHIF_PACKAGE, OHIF_RELEASES, OHIF_VERSION, type OhifVersion, ohifDirFor } from './ohif-package.js';

export class ViewerSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ViewerSetupError';
  }
}

interface OhifSetupOptions {
  /** Which pinned version (default OHIF_VERSION); it goes to .data/ohif/<version>. */
  version?: OhifVersion;
  /** Progress lines. */
  log?: (line: string) => void;
}

interface OhifSetupResult {
  dir: string;
  /** False when the dist was already there. */
  fetched: boolean;
}

/** True when `dir` holds a complete dist unpacked from the tarball with this integrity. */
export async function isOhifDistReady(dir: string, integrity: string = OHIF_RELEASES[OHIF_VERSION]): Promise<boolean> {
  try {
    const marker = (await fs.readFile(path.join(dir, INTEGRITY_MARKER), 'utf8')).trim();
    return marker === integrity && existsSync(path.join(dir, 'index.html'));
  } catch {
    return false;
  }
}

async function sha512(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha512-${hash.digest('base64')}`;
}

/** Runs a command, printing a line every few seconds while it works; rejects with its stderr tail. */
function run(cmd: string, args: string[], cwd: string, what: string, log: (line: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    const t0 = Date.now();
    const ticker = setInterval(() => log(`  ...${what} (${Math.round((Date.now() - t0) / 1000)} s)`), 5000);
    child.once('error', (e) => {
      clearInterval(ticker);
      reject(new ViewerSetupError(`could not run ${cmd}: ${e.message}`));
    });
    child.once('close', (code) => {
      clearInterval(ticker);
      if (code === 0) resolve(out);
      else reject(new ViewerSetupError(`${cmd} ${args.join(' ')} failed (exit ${code}): ${err.trim().split('\n').slice(-3).join(' ')}`));
    });
  });
}

/** npm itself: the one running us when started by an npm script, else npm on the PATH. */
function npmCommand(): { cmd: string; pre: string[] } {
  const execPath = process.env['npm_execpath'];
  if (execPath && /npm-cli\.c?js$/.test(execPath)) return { cmd: process.execPath, pre: [execPath] };
  return { cmd: 'npm', pre: [] };
}

/** Installs a pinned OHIF version into our data folder unless it is there already. */
export async function ensureOhifDist(o: OhifSetupOptions = {}): Promise<OhifSetupResult> {
  const version = o.version ?? OHIF_VERSION;
  const dir = ohifDirFor(version);
  const integrity = OHIF_RELEASES[version];
  const spec = `${OHIF_PACKAGE}@${version}`;
  const log = o.log ?? (() => undefined);
  if (await isOhifDistReady(dir, integrity)) return { dir, fetched: false };

  const parent = path.dirname(dir);
  await fs.mkdir(parent, { recursive: true });
  const tmp = await fs.mkdtemp(path.join(parent, `.tmp-${path.basename(dir)}-`));
  try {
    log(`viewer set-up: fetching ${spec} with npm pack (about 50 MB, once)...`);
    const npm = npmCommand();
    const packed = await run(npm.cmd, [...npm.pre, 'pack', spec, '--json', '--silent', '--pack-destination', tmp], tmp, 'downloading', log);
    const tarballs = (await fs.readdir(tmp)).filter((f) => f.endsWith('.tgz'));
    if (tarballs.length !== 1) throw new ViewerSetupError(`npm pack ${spec} produced no tarball (it said: ${packed.slice(0, 200)})`);
    const tarball = path.join(tmp, tarballs[0]!);

    log('viewer set-up: checking the tarball against the pinned sha512...');
    const actual = await sha512(tarball);
    if (actual !== integrity) {
      throw new ViewerSetupError(`the ${spec} tarball does not match the pinned integrity (expected ${integrity}, got ${actual}); nothing was installed`);
    }

    log('viewer set-up: unpacking the viewer...');
    const unpack = path.join(tmp, 'unpacked');
    await fs.mkdir(unpack);
    await run('tar', ['-xzf', tarball, '-C', unpack, '--no-same-owner', 'package/dist'], tmp, 'unpacking', log);
    const dist = path.join(unpack, 'package', 'dist');
    if (!existsSync(path.join(dist, 'index.html'))) throw new ViewerSetupError(`the ${spec} tarball has no dist/index.html`);
    await fs.writeFile(path.join(dist, INTEGRITY_MARKER), `${integrity}\n`);

    // A stale or foreign folder in the way is moved aside first, then removed.
    if (existsSync(dir)) await fs.rename(dir, path.join(tmp, 'previous'));
    try {
      await fs.rename(dist, dir);
    } catch (err) {
      // Another set-up finished first: keep its (equally verified) copy.
      if (await isOhifDistReady(dir, integrity)) return { dir, fetched: false };
      throw err;
    }
    log(`viewer set-up: OHIF ${version} is ready in ${dir}`);
    return { dir, fetched: true };
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** What the server will serve, and whether it can. */
interface ViewerDist {
  dir: string;
  /** True when the set-up fetched the pinned default just now. */
  fetched: boolean;
  /** Why the folder cannot serve a viewer (a sentence), or null. */
  problem: string | null;
}

/**
 * The OHIF dist to serve: the operator's folder (`viewer.ohifDir`) exactly as it is, checked but
 * never written to, or, when none is configured, the pinned default, installed into our own data
 * folder when missing.
 */
export async function viewerDist(configured: string | undefined, log: (line: string) => void = () => undefined): Promise<ViewerDist> {
  if (!configured) return { ...(await ensureOhifDist({ log })), problem: null };
  const dir = path.resolve(configured);
  const problem = existsSync(path.join(dir, 'index.html'))
    ? null
    : `the configured OHIF folder ${dir} has no index.html: point GLMEDSA_OHIF_DIR (viewer.ohifDir) at an unpacked OHIF dist, or unset it to serve the pinned OHIF ${OHIF_VERSION}`;
  return { dir, fetched: false, problem };
}
