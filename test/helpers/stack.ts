/**
 * The whole product on loopback for a cross-package test: a fresh Orthanc with the demo studies,
 * the server with the starter model serving the viewer (OHIF set up once into .data/ohif, the
 * default version or `ohifVersion`; our modules from dist/ext), all stopped and removed by `stop()`.
 *
 *   import { startStack } from '../helpers/stack.js';
 *   import { launchChromium, openPage, screenshot } from '../helpers/browser.js';
 *   const stack = await startStack({ apiKeys: [{ key: 'k'.repeat(20), role: 'annotator' }], viewerApiKey: 'k'.repeat(20) });
 *   const browser = await launchChromium();
 *   const page = await openPage(browser);
 *   await page.goto(stack.viewerUrl);                       // the study list
 *   await page.goto(stack.modeUrl(stack.demo.dermoscopy)); // a demo study in our mode
 *   const truth = stack.groundTruth('dermoscopy', 0);       // 0/1 mask of photo 0's lesion
 *   await stack.stopServer();                              // e.g. to see the panel's error
 *   await stack.restartServer();                           // same port, same configuration
 *   await browser.close(); await stack.stop();
 *
 * With apiKeys, OHIF's own DICOMweb requests (study list, metadata, frames, STOW of a SEG) go to the
 * server's /dicom-web proxy and need a key too: OHIF 3.13's data source and image loader take their
 * headers only from userAuthenticationService.getAuthorizationHeader(), so the extension has to
 * provide its configured key there when no user is signed in.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '@glmedsa/server/dist/src/config/load.js';
import type { ServerConfig } from '@glmedsa/server/dist/src/config/schema.js';
import { seedDemo } from '@glmedsa/server/dist/src/demo/seed.js';
import type { DemoInstance, DemoSeries } from '@glmedsa/server/dist/src/demo/demo-studies.js';
import { type BundledOrthanc, startBundledOrthanc } from '@glmedsa/server/dist/src/bundled-pacs/bundled-orthanc.js';
import { type RunningServer, startServer } from '@glmedsa/server/dist/src/server.js';
import { type OhifVersion, ensureOhifDist } from '@glmedsa/server/dist/src/viewer/index.js';
import { type DemoKind, demoGroundTruth, demoSeries } from './ground-truth.js';
import { EXT_DIR, STARTER_MODEL } from './paths.js';

export interface StackOptions {
  /** Turns authentication on with these keys (roles viewer, annotator, admin). */
  apiKeys?: { key: string; role: 'viewer' | 'annotator' | 'admin'; name?: string }[];
  /** A key written into the viewer's app-config.js for the extension to send. */
  viewerApiKey?: string;
  /** Foreign origins allowed by CORS. */
  corsOrigins?: string[];
  /** Any other server configuration (merged over the harness's). */
  server?: Record<string, unknown>;
  /** Skip the check that dist/ext holds the built extension and mode (tests of the server alone). */
  withoutModules?: boolean;
  /** Serve this pinned OHIF version (fetched into .data/ohif/<version> once) instead of the default. */
  ohifVersion?: OhifVersion;
  /** The PACS URL the server is given, from Orthanc's DICOMweb URL (e.g. a slow proxy in front of it; see slow-pacs.ts). */
  pacsVia?: (dicomWebUrl: string) => Promise<string>;
}

export interface Stack {
  orthanc: BundledOrthanc;
  /** The running server (replaced by restartServer). */
  readonly server: RunningServer;
  config: ServerConfig;
  /** `http://127.0.0.1:PORT/` : OHIF's study list. */
  readonly viewerUrl: string;
  /** The demo series with UIDs, sizes and lesion centres. */
  demo: { dermoscopy: DemoSeries; ct: DemoSeries; all: DemoSeries[] };
  /** The viewer URL of a study in the GLMed-SA mode. */
  modeUrl(series: DemoSeries | DemoInstance): string;
  /** The 0/1 lesion mask of instance `index` of a demo series. */
  groundTruth(kind: DemoKind, index: number): Uint8Array;
  stopServer(): Promise<void>;
  restartServer(): Promise<void>;
  stop(): Promise<void>;
}

const say = (line: string) => process.stderr.write(`${line}\n`);

/** Fails early with the fix when the viewer's modules were not built. */
export function requireBuiltModules(): void {
  for (const f of ['glmedsa-extension.mjs', 'glmedsa-mode.mjs']) {
    if (!existsSync(path.join(EXT_DIR, f))) throw new Error(`${path.join(EXT_DIR, f)} is missing: run npm run build:ext (webpack) first`);
  }
}

export async function startStack(o: StackOptions = {}): Promise<Stack> {
  if (!o.withoutModules) requireBuiltModules();
  const ohif = await ensureOhifDist({ log: say, ...(o.ohifVersion ? { version: o.ohifVersion } : {}) });
  const dataDir = await mkdtemp(path.join(tmpdir(), 'glmedsa-stack-'));
  let orthanc: BundledOrthanc | undefined;
  let server: RunningServer | undefined;
  try {
    orthanc = await startBundledOrthanc({ dataDir: path.join(dataDir, 'orthanc'), httpPort: 0, stopGraceMs: 5000 });
    const all = await seedDemo(orthanc, () => undefined);
    const pacsUrl = o.pacsVia ? await o.pacsVia(orthanc.dicomWebUrl) : orthanc.dicomWebUrl;
    const auth = o.apiKeys?.length ? { mode: 'required', apiKeys: o.apiKeys } : { mode: 'off' };
    const config = loadConfig({
      env: {},
      overrides: {
        listen: { host: '127.0.0.1', port: 0 },
        pacs: { url: pacsUrl, timeoutMs: 10_000 },
        models: [{ id: 'starter', dir: STARTER_MODEL }],
        device: 'cpu',
        auth,
        cors: { origins: o.corsOrigins ?? [] },
        viewer: { enabled: true, proxyPacs: true, ohifDir: ohif.dir, ...(o.viewerApiKey ? { apiKey: o.viewerApiKey } : {}) },
        logLevel: 'silent',
        ...o.server,
      },
    });
    const log = pino({ level: process.env['GLMEDSA_TEST_LOG'] ?? 'silent' });
    const start = (port: number) => startServer({ ...config, listen: { ...config.listen, port } }, { log, dataDir });
    server = await start(0);
    let current: RunningServer | undefined = server;
    const port = server.port;
    const base = `http://127.0.0.1:${port}`;
    const o2 = orthanc;
    const stack: Stack = {
      orthanc: o2,
      get server() {
        if (!current) throw new Error('the server is stopped');
        return current;
      },
      config,
      viewerUrl: `${base}/`,
      demo: { dermoscopy: demoSeries(all, 'dermoscopy'), ct: demoSeries(all, 'ct'), all },
      modeUrl(s) {
        const uid = 'instances' in s ? s.instances[0]!.studyInstanceUID : s.studyInstanceUID;
        return `${base}/glmedsa?StudyInstanceUIDs=${uid}`;
      },
      groundTruth(kind, index) {
        const s = kind === 'dermoscopy' ? stack.demo.dermoscopy : stack.demo.ct;
        const inst = s.instances[index];
        if (!inst) throw new Error(`the ${kind} demo series has no instance ${index}`);
        return demoGroundTruth(kind, index, inst);
      },
      async stopServer() {
        const s = current;
        current = undefined;
        await s?.close();
      },
      async restartServer() {
        if (current) return;
        current = await start(port);
      },
      async stop() {
        await stack.stopServer();
        await o2.stop({ graceMs: 0 });
        await rm(dataDir, { recursive: true, force: true });
      },
    };
    return stack;
  } catch (err) {
    await server?.close().catch(() => undefined);
    await orthanc?.stop({ graceMs: 0 }).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
}
