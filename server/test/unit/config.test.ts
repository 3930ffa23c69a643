import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PRESETS, VARIANTS } from '@glmedsa/models';
import { ConfigError, checkExposure, loadConfig } from '../../src/config/load.js';
import { TWO_WORKERS_MIN_MEMORY, defaultWorkerCount } from '../../src/config/schema.js';

test('defaults run on this machine: loopback, the starter model, a local Orthanc, no auth', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.listen.host, '127.0.0.1');
  assert.equal(c.pacs.url, 'http://127.0.0.1:8042/dicom-web');
  assert.deepEqual(c.models, [{ id: 'starter', dir: 'models/starter' }]);
  assert.equal(c.auth.mode, 'off');
  checkExposure(c);
});

test('environment variables override, with every problem listed', () => {
  const c = loadConfig({ env: { GLMEDSA_PORT: '9000', GLMEDSA_API_KEYS: 'k123456789abcdefg:admin:ops', GLMEDSA_AUTH: 'required' } });
  assert.equal(c.listen.port, 9000);
  assert.deepEqual(c.auth.apiKeys, [{ key: 'k123456789abcdefg', role: 'admin', name: 'ops' }]);
  assert.throws(
    () => loadConfig({ env: { GLMEDSA_PACS_URL: 'not a url', GLMEDSA_DEVICE: 'tpu' } }),
    (e: Error) => e instanceof ConfigError && /pacs\.url/.test(e.message) && /device/.test(e.message),
  );
  assert.throws(() => loadConfig({ env: { GLMEDSA_AUTH: 'required' } }), /no API keys or OIDC/);
  assert.throws(() => loadConfig({ env: { GLMEDSA_PORT: 'eighty' } }), /GLMEDSA_PORT must be an integer/);
  assert.throws(() => loadConfig({ env: { GLMEDSA_API_KEYS: 'short:admin', GLMEDSA_AUTH: 'required' } }), /at least 16 characters/);
  assert.equal(loadConfig({ env: { GLMEDSA_DECODE_IN: 'auto' } }).viewer.decodeIn, 'auto');
  assert.throws(() => loadConfig({ env: { GLMEDSA_DECODE_IN: 'gpu' } }), /viewer\.decodeIn \(set by GLMEDSA_DECODE_IN\)/);
  assert.equal(loadConfig({ env: { GLMEDSA_DECODE_BACKEND: 'wasm' } }).viewer.decodeBackend, 'wasm');
  assert.throws(() => loadConfig({ env: { GLMEDSA_DECODE_BACKEND: 'cuda' } }), /viewer\.decodeBackend \(set by GLMEDSA_DECODE_BACKEND\)/);
});

test('a non-loopback address needs authentication unless explicitly waived', () => {
  const open = loadConfig({ env: { GLMEDSA_HOST: '0.0.0.0' } });
  assert.throws(() => checkExposure(open), /refusing to listen on 0\.0\.0\.0 without authentication/);
  checkExposure(loadConfig({ env: { GLMEDSA_HOST: '0.0.0.0', GLMEDSA_ALLOW_UNAUTHENTICATED_NETWORK: 'true' } }));
  checkExposure(loadConfig({ env: { GLMEDSA_HOST: '0.0.0.0', GLMEDSA_AUTH: 'required', GLMEDSA_API_KEYS: 'k123456789abcdefg:viewer' } }));
});

test('a configuration file that is not JSON is reported by name', () => {
  assert.throws(() => loadConfig({ file: '/nonexistent/glmedsa.json', env: {} }), /cannot read the configuration file \/nonexistent\/glmedsa\.json/);
});

test('model entries take exactly the variants and presets the models package defines', () => {
  const entry = (extra: Record<string, unknown>) => loadConfig({ env: {}, overrides: { models: [{ id: 'm', checkpoint: 'x.pth', preset: 'vit_b', ...extra }] } });
  for (const variant of VARIANTS) assert.equal(entry({ variant }).models[0]!.variant, variant);
  for (const preset of Object.keys(PRESETS)) assert.equal(entry({ preset }).models[0]!.preset, preset);
  assert.throws(() => entry({ variant: 'lora' }), (e: Error) => e instanceof ConfigError && /variant/.test(e.message));
  assert.throws(() => entry({ preset: 'vit_xl' }), (e: Error) => e instanceof ConfigError && /preset/.test(e.message));
});

test('the image limits and the worker heap come from GLMEDSA_* variables, and a bad value is refused naming the variable', () => {
  const c = loadConfig({ env: { GLMEDSA_MAX_IMAGE_SIDE: '4096', GLMEDSA_MAX_IMAGE_PIXELS: '8000000', GLMEDSA_WORKER_HEAP_MB: '512' } });
  assert.equal(c.limits.maxImageSide, 4096);
  assert.equal(c.limits.maxImagePixels, 8_000_000);
  assert.equal(c.limits.workerHeapMb, 512);
  const d = loadConfig({ env: {} });
  assert.deepEqual([d.limits.maxImageSide, d.limits.maxImagePixels, d.limits.workerHeapMb], [16_384, 64 * 1024 * 1024, 2048]);
  assert.throws(() => loadConfig({ env: { GLMEDSA_MAX_IMAGE_SIDE: '16k' } }), /GLMEDSA_MAX_IMAGE_SIDE must be an integer, got '16k'/);
  assert.throws(
    () => loadConfig({ env: { GLMEDSA_MAX_IMAGE_PIXELS: '100', GLMEDSA_WORKER_HEAP_MB: '10' } }),
    (e: Error) =>
      e instanceof ConfigError &&
      /limits\.maxImagePixels \(set by GLMEDSA_MAX_IMAGE_PIXELS\): .*4096/.test(e.message) &&
      /limits\.workerHeapMb \(set by GLMEDSA_WORKER_HEAP_MB\): .*64/.test(e.message),
  );
});

test("onnxruntime's CPU memory arena is switched with GLMEDSA_ORT_MEM_ARENA", () => {
  assert.equal(loadConfig({ env: { GLMEDSA_ORT_MEM_ARENA: 'off' } }).workers.cpuMemArena, false);
  assert.equal(loadConfig({ env: { GLMEDSA_ORT_MEM_ARENA: 'on' } }).workers.cpuMemArena, true);
  assert.equal(loadConfig({ env: {} }).workers.spinning, false);
  assert.equal(loadConfig({ env: { GLMEDSA_ORT_SPINNING: 'on' } }).workers.spinning, true);
  assert.throws(() => loadConfig({ env: { GLMEDSA_ORT_MEM_ARENA: 'maybe' } }), /GLMEDSA_ORT_MEM_ARENA must be on or off/);
});

test('two inference workers by default with at least 2 cores and 4 GiB, one otherwise, and GLMEDSA_WORKERS wins', () => {
  assert.equal(defaultWorkerCount(2, TWO_WORKERS_MIN_MEMORY), 2);
  assert.equal(defaultWorkerCount(64, 256 * 1024 ** 3), 2);
  assert.equal(defaultWorkerCount(1, 64 * 1024 ** 3), 1);
  assert.equal(defaultWorkerCount(8, TWO_WORKERS_MIN_MEMORY - 1), 1);
  assert.equal(loadConfig({ env: {} }).workers.count, defaultWorkerCount());
  assert.equal(loadConfig({ env: {}, overrides: { workers: { threads: 1 } } }).workers.count, defaultWorkerCount());
  assert.equal(loadConfig({ env: { GLMEDSA_WORKERS: '1' } }).workers.count, 1);
});
