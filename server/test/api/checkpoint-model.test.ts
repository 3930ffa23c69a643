import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { loadConfig } from '../../src/config/load.js';
import { startServer } from '../../src/server.js';
import { REPO_ROOT, get, post } from '../helpers/server.js';

const FIXTURE = path.join(REPO_ROOT, 'models', 'test', 'fixtures', 'parity', 'sam_tiny');

test('a model given as a checkpoint is exported once at start and served', async () => {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'glmedsa-ckpt-'));
  const config = loadConfig({
    env: {},
    overrides: {
      listen: { host: '127.0.0.1', port: 0 },
      models: [{ id: 'tiny', checkpoint: path.join(FIXTURE, 'weights.pth'), config: path.join(FIXTURE, 'fixture.json'), variant: 'glmedsa' }],
      device: 'cpu',
    },
  });
  const log = pino({ level: 'silent' });
  try {
    let server = await startServer(config, { dataDir, log });
    try {
      assert.ok(existsSync(path.join(dataDir, 'models', 'tiny', 'model.json')));
      const models = (await get(`${server.url}/v1/models`)).body['models'] as { id: string; variant: string; source: { initialized_adapters: number } }[];
      assert.equal(models[0]!.variant, 'glmedsa');
      assert.ok(models[0]!.source.initialized_adapters > 0, 'plain SAM weights got fresh adapters');
      const png = (await import('@glmedsa/models')).encodePng({ width: 50, height: 40, data: new Uint8Array(50 * 40 * 3).fill(90) });
      const up = await fetch(`${server.url}/v1/images`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: Buffer.from(png) });
      const { imageId } = (await up.json()) as { imageId: string };
      assert.equal((await post(`${server.url}/v1/segment`, { image: { imageId }, points: [{ x: 10, y: 10, label: 1 }] })).status, 200);
    } finally {
      await server.close();
    }
    // A second start reuses the export.
    const t0 = Date.now();
    server = await startServer(config, { dataDir, log });
    await server.close();
    assert.ok(Date.now() - t0 < 20_000);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
