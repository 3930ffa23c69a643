/**
 * The viewer's files with authentication on: OHIF's pages, app-config.js and our modules are
 * public (no patient data), the API and the DICOMweb proxy are not; app-config.js points the data
 * source at the same-origin proxy and loads our modules; OHIF routes get index.html; the API's
 * own 404s stay problems, not HTML.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runInNewContext } from 'node:vm';
import { after, before, describe, test } from 'node:test';
import type { RunningServer } from '../../src/server.js';
import { DEFAULT_OHIF_DIR, EXTENSION_MODULE, MODE_MODULE, ensureOhifDist } from '../../src/viewer/index.js';
import { startTestServer } from '../helpers/server.js';

const KEY = 'viewer-files-key-0123456789';

describe('the viewer files', () => {
  let server: RunningServer;
  let extDir: string;

  before(async () => {
    await ensureOhifDist({ log: (l) => process.stderr.write(`${l}\n`) });
    extDir = await mkdtemp(path.join(tmpdir(), 'glmedsa-ext-'));
    await writeFile(path.join(extDir, 'glmedsa-mode.mjs'), 'export default { id: "probe" };\n//# sourceMappingURL=glmedsa-mode.mjs.map\n');
    await writeFile(path.join(extDir, 'glmedsa-mode.mjs.map'), '{"version":3,"sources":["webpack://mode/src/index.ts"],"sourcesContent":["the whole source"],"mappings":""}');
    server = await startTestServer('http://127.0.0.1:9/dicom-web', {
      auth: { mode: 'required', apiKeys: [{ key: KEY, role: 'viewer' }] },
      viewer: { enabled: true, proxyPacs: true, extDir, ohifDir: DEFAULT_OHIF_DIR, apiKey: KEY, decodeIn: 'auto' },
    });
  });
  after(async () => {
    await server?.close();
    if (extDir) await rm(extDir, { recursive: true, force: true });
  });

  test('pages, app-config.js and modules need no key; the API and the proxy do', async () => {
    for (const p of ['/', '/glmedsa?StudyInstanceUIDs=1.2.3', '/app-config.js', '/ext/glmedsa-mode.mjs']) {
      assert.equal((await fetch(`${server.url}${p}`)).status, 200, p);
    }
    assert.equal((await fetch(`${server.url}/v1/models`)).status, 401);
    assert.equal((await fetch(`${server.url}/dicom-web/studies`)).status, 401);
  });

  test("OHIF's client-side routes get its index.html; its bundles are served with long caching", async () => {
    for (const p of ['/', '/glmedsa', '/viewer', '/segmentation']) {
      const res = await fetch(`${server.url}${p}`);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/, p);
      assert.match(await res.text(), /<script[^>]+app-config\.js/, p);
    }
    const html = await (await fetch(`${server.url}/`)).text();
    const bundle = /src="\/?(app\.bundle\.[0-9a-f]+\.js)"/.exec(html)?.[1];
    assert.ok(bundle, 'index.html names no app bundle');
    const res = await fetch(`${server.url}/${bundle}`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('cache-control') ?? '', /immutable/);
  });

  test("the API's unknown paths stay problems, not the viewer's page", async () => {
    const res = await fetch(`${server.url}/v1/no-such-thing`, { headers: { 'x-api-key': KEY } });
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /problem\+json/);
    const ext = await fetch(`${server.url}/ext/missing.mjs`);
    assert.equal(ext.status, 404);
    assert.match(((await ext.json()) as { detail: string }).detail, /no module \/missing\.mjs/);
  });

  test('the source maps of our modules are not served unless the configuration asks for them', async () => {
    const hidden = await fetch(`${server.url}/ext/glmedsa-mode.mjs.map`);
    assert.equal(hidden.status, 404);
    assert.match(((await hidden.json()) as { detail: string }).detail, /viewer\.sourceMaps/);
    const asked = await startTestServer('http://127.0.0.1:9/dicom-web', { viewer: { enabled: true, proxyPacs: false, extDir, ohifDir: DEFAULT_OHIF_DIR, sourceMaps: true } });
    try {
      const shown = await fetch(`${asked.url}/ext/glmedsa-mode.mjs.map`);
      assert.equal(shown.status, 200);
      assert.match(await shown.text(), /the whole source/);
    } finally {
      await asked.close();
    }
  });

  test('app-config.js: our modules, a DICOMweb source on the same-origin proxy, the glmedsa block', async () => {
    const res = await fetch(`${server.url}/app-config.js`);
    assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
    const window: { location: { origin: string }; config?: Record<string, unknown> } = { location: { origin: 'https://viewer.example' } };
    runInNewContext(await res.text(), { window });
    // Objects made inside the vm context have its prototypes: copy them out as plain JSON.
    const c = JSON.parse(JSON.stringify(window.config)) as {
      extensions: string[];
      modes: string[];
      defaultDataSourceName: string;
      dataSources: { sourceName: string; namespace: string; configuration: Record<string, unknown> }[];
      glmedsa: { serverUrl: string; apiKey?: string; decodeIn?: string };
    };
    assert.deepEqual(c.extensions, [EXTENSION_MODULE]);
    assert.deepEqual(c.modes, [MODE_MODULE]);
    const source = c.dataSources.find((s) => s.sourceName === c.defaultDataSourceName);
    assert.ok(source);
    assert.equal(source.namespace, '@ohif/extension-default.dataSourcesModule.dicomweb');
    for (const k of ['qidoRoot', 'wadoRoot', 'wadoUriRoot']) assert.equal(source.configuration[k], 'https://viewer.example/dicom-web');
    assert.equal(c.glmedsa.serverUrl, 'https://viewer.example');
    assert.equal(c.glmedsa.apiKey, KEY);
    assert.equal(c.glmedsa.decodeIn, 'auto');
  });
});
