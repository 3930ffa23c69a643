/** /readyz asks the PACS through the DICOMweb client, with the server's PACS credentials. */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createPacsAccess } from '../../src/segmentation/pacs-access.js';
import type { RunningServer } from '../../src/server.js';
import { useOrthanc } from '../helpers/orthanc.js';
import { get, startTestServer } from '../helpers/server.js';

const pacs = useOrthanc({ username: 'glmedsa', password: 'pacs-secret-1' });

const access = (extra: { username?: string; password?: string; token?: string }) =>
  createPacsAccess({ url: pacs.handle.dicomWebUrl, timeoutMs: 5000, maxFrameBytes: 1 << 20, ...extra });

describe('PACS readiness with basic authentication', () => {
  let server: RunningServer;

  before(async () => {
    server = await startTestServer(pacs.handle.dicomWebUrl, { pacs: { url: pacs.handle.dicomWebUrl, timeoutMs: 5000, username: 'glmedsa', password: 'pacs-secret-1' } });
  });

  after(async () => {
    await server?.close();
  });

  test('the server with the right credentials reports the PACS reachable', async () => {
    const r = await get(`${server.url}/readyz`);
    assert.equal(r.status, 200);
    assert.equal(r.body['pacs'], 'reachable');
  });

  test('missing or wrong credentials are reported as refused, a dead PACS as unreachable', async () => {
    assert.equal(await access({}).ping(), 'refused');
    assert.equal(await access({ username: 'glmedsa', password: 'wrong' }).ping(), 'refused');
    assert.equal(await access({ token: 'not-a-token' }).ping(), 'refused');
    assert.equal(await access({ username: 'glmedsa', password: 'pacs-secret-1' }).ping(), 'reachable');
    const dead = createPacsAccess({ url: 'http://127.0.0.1:9/dicom-web', timeoutMs: 1000, maxFrameBytes: 1 << 20 });
    assert.equal(await dead.ping(), 'unreachable');
  });
});
