/** GET /v1/whoami tells the caller its role (the admin panel shows its controls to admins only). */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WhoamiResponseSchema } from '../../src/api/index.js';
import type { RunningServer } from '../../src/server.js';
import { get, startTestServer } from '../helpers/server.js';
import { ADMIN, AUTH, VIEWER } from '../jobs/job-fixtures.js';

const DEAD_PACS = 'http://127.0.0.1:9/dicom-web';

describe('GET /v1/whoami with authentication required', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer(DEAD_PACS, { auth: AUTH });
  });
  after(async () => {
    await server?.close();
  });

  test('an admin key is the admin, a viewer key the viewer', async () => {
    const admin = await get(`${server.url}/v1/whoami`, ADMIN);
    assert.equal(admin.status, 200, JSON.stringify(admin.body));
    assert.deepEqual(WhoamiResponseSchema.parse(admin.body), { name: 'admin', role: 'admin', via: 'api-key', authRequired: true });
    const viewer = await get(`${server.url}/v1/whoami`, { authorization: `ApiKey ${VIEWER['x-api-key']}` });
    assert.equal(viewer.status, 200, JSON.stringify(viewer.body));
    assert.deepEqual(WhoamiResponseSchema.parse(viewer.body), { name: 'viewer', role: 'viewer', via: 'api-key', authRequired: true });
  });

  test('no key or a wrong key is 401 with a sentence', async () => {
    for (const headers of [{}, { 'x-api-key': 'not-a-key' }] as Record<string, string>[]) {
      const r = await get(`${server.url}/v1/whoami`, headers);
      assert.equal(r.status, 401);
      assert.match(String(r.body['detail']), /API key/);
    }
  });
});

test('GET /v1/whoami without authentication: everyone is an anonymous admin', async () => {
  const server = await startTestServer(DEAD_PACS);
  try {
    const r = await get(`${server.url}/v1/whoami`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(WhoamiResponseSchema.parse(r.body), { name: 'anonymous', role: 'admin', via: 'anonymous', authRequired: false });
  } finally {
    await server.close();
  }
});
