/**
 * npm start: the product on one machine. The OHIF viewer set up once (npm pack, integrity
 * checked, into .data/ohif; a GLMEDSA_OHIF_DIR of the operator's is served untouched), a local Orthanc (installed with apt-get when missing and allowed) with the demo
 * studies, and the server with the starter model serving the viewer and proxying the PACS.
 * Prints the viewer's URL first, then the rest and a request that segments a demo image.
 * Ctrl-C stops both.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../src/config/load.js';
import { seedDemo } from '../src/demo/seed.js';
import { OrthancNotInstalled, findDicomWebPlugin, findOrthancBinary, isPortFree, superviseOrthanc } from '../src/bundled-pacs/index.js';
import { assertPortFree } from '../src/http/listen.js';
import { startServer } from '../src/server.js';
import { DEFAULT_EXT_DIR, ViewerSetupError, viewerDist } from '../src/viewer/index.js';

const say = (line: string) => process.stdout.write(`${line}\n`);

async function ensureOrthanc(): Promise<void> {
  try {
    await findOrthancBinary();
    await findDicomWebPlugin();
    return;
  } catch (err) {
    if (!(err instanceof OrthancNotInstalled)) throw err;
    const root = process.getuid?.() === 0;
    if (!root || process.env['GLMEDSA_NO_INSTALL']) throw err;
  }
  say('Orthanc is missing: installing it with apt-get (orthanc, orthanc-dicomweb)...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'orthanc', 'orthanc-dicomweb'], { stdio: 'inherit', env });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'orthanc', 'orthanc-dicomweb'], { stdio: 'inherit', env });
  }
  if (r.status !== 0) throw new Error('apt-get could not install orthanc and orthanc-dicomweb');
}

async function main(): Promise<void> {
  const dataDir = path.resolve(process.env['GLMEDSA_DATA_DIR'] ?? '.data');
  // A taken port (or a bad configuration) is reported before Orthanc starts and the demo is seeded.
  await assertPortFree(loadConfig({ env: process.env }).listen);
  await ensureOrthanc();
  const { viewer } = loadConfig({ env: process.env });
  const viewerOn = viewer.enabled;
  if (viewerOn) {
    // An operator's own OHIF folder is served as it is, never written to; only our pinned default is installed.
    const dist = await viewerDist(viewer.ohifDir, say);
    if (dist.problem) say(`warning: ${dist.problem}`);
    const extDir = viewer.extDir ?? DEFAULT_EXT_DIR;
    if (!existsSync(path.join(extDir, 'glmedsa-mode.mjs'))) say(`warning: ${extDir} has no built modules; run npm run build:ext`);
  }
  const port = (await isPortFree(8042)) ? 8042 : 0;
  // Supervised: an Orthanc that dies is reported (exit code, last log lines) and restarted; one that keeps dying stops the product.
  const orthanc = await superviseOrthanc({ dataDir: path.join(dataDir, 'orthanc'), httpPort: port, name: 'GLMEDSA-DEMO', stopGraceMs: 3000, onEvent: (e) => process.stderr.write(`npm start: ${e.message}\n`) });
  void orthanc.gaveUp.then(() => process.exit(1));
  let stopping = false;
  const stopOrthanc = () => orthanc.stop().catch(() => undefined);
  try {
    const series = await seedDemo(orthanc, say);
    const env = { ...process.env };
    env['GLMEDSA_PACS_URL'] ??= orthanc.dicomWebUrl;
    const config = loadConfig({ env });
    const server = await startServer(config, { dataDir });
    const first = series[0]!.instances[series[0]!.lesionIndex]!;
    const click = first.lesion ?? { x: Math.floor(first.width / 2), y: Math.floor(first.height / 2) };
    const body = JSON.stringify({
      image: { studyInstanceUID: first.studyInstanceUID, seriesInstanceUID: first.seriesInstanceUID, sopInstanceUID: first.sopInstanceUID, frame: 1 },
      points: [{ x: click.x, y: click.y, label: 1 }],
    });
    const demoStudy = first.studyInstanceUID;
    say('');
    if (viewerOn) {
      say(`viewer (OHIF + GLMed-SA): ${server.url}/`);
      say(`  a demo study in the GLMed-SA mode: ${server.url}/glmedsa?StudyInstanceUIDs=${demoStudy}`);
    }
    say(`Orthanc (PACS):       ${orthanc.url}   (DICOMweb ${orthanc.dicomWebUrl})`);
    say(`segmentation server:  ${server.url}   (model ${config.models.map((m) => m.id).join(', ')}, auth ${config.auth.mode})`);
    for (const s of series) say(`demo series:          ${s.description}, ${s.instances.length} images`);
    say('');
    say('Segment the lesion of the first demo photograph:');
    say(`  curl -s ${server.url}/v1/segment -H 'Content-Type: application/json' -d '${body}'`);
    say('');
    say('Ctrl-C stops the server and Orthanc.');
    const stop = () => {
      if (stopping) return;
      stopping = true;
      say('stopping...');
      server
        .close()
        .then(stopOrthanc)
        .finally(() => process.exit(0));
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } catch (err) {
    await stopOrthanc();
    throw err;
  }
}

main().catch((err: unknown) => {
  const message = err instanceof ConfigError || err instanceof OrthancNotInstalled || err instanceof ViewerSetupError ? err.message : `could not start: ${(err as Error).message}`;
  process.stderr.write(`npm start: ${message}\n`);
  process.exit(1);
});
