/** GLMEDSA_API_KEYS: plain and hashed keys, with and without names, read from the right. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { Authenticator } from '../../src/http/auth.js';

const hex = (s: string) => createHash('sha256').update(s).digest('hex');

test('hashed keys given through the environment keep their colons', () => {
  const digest = hex('the-real-secret-of-the-viewer');
  const c = loadConfig({
    env: {
      GLMEDSA_AUTH: 'required',
      GLMEDSA_API_KEYS: `sha256:${digest}:viewer, sha256:${digest.toUpperCase()}:admin:ops ,plain-key-0123456789:annotator:labeller,other:key:with:colons:viewer`,
    },
  });
  assert.deepEqual(c.auth.apiKeys, [
    { key: `sha256:${digest}`, role: 'viewer', name: 'key-1' },
    { key: `sha256:${digest.toUpperCase()}`, role: 'admin', name: 'ops' },
    { key: 'plain-key-0123456789', role: 'annotator', name: 'labeller' },
    { key: 'other:key:with:colons', role: 'viewer', name: 'key-4' },
  ]);
});

test('a hashed key from the environment authenticates its secret, and only it', async () => {
  const c = loadConfig({ env: { GLMEDSA_AUTH: 'required', GLMEDSA_API_KEYS: `sha256:${hex('the-real-secret-of-the-viewer')}:viewer:ohif` } });
  const auth = new Authenticator(c.auth);
  assert.deepEqual(await auth.identify({ 'x-api-key': 'the-real-secret-of-the-viewer' }), { name: 'ohif', role: 'viewer', via: 'api-key' });
  assert.equal(typeof (await auth.identify({ 'x-api-key': `sha256:${hex('the-real-secret-of-the-viewer')}` })), 'string', 'the digest itself is no key');
});

test('entries without a role, or with a malformed digest, are refused with the syntax', () => {
  for (const bad of ['just-a-key-0123456789', 'key-0123456789abcdef:superuser', ':viewer', 'key-0123456789abcdef:viewer:ops:extra']) {
    assert.throws(
      () => loadConfig({ env: { GLMEDSA_AUTH: 'required', GLMEDSA_API_KEYS: bad } }),
      (e: Error) => e instanceof ConfigError && /entry 1 must be KEY:ROLE or KEY:ROLE:NAME/.test(e.message),
      bad,
    );
  }
  assert.throws(
    () => loadConfig({ env: { GLMEDSA_AUTH: 'required', GLMEDSA_API_KEYS: 'sha256:abc123def4567890:viewer' } }),
    /sha256: followed by 64 hex digits/,
  );
});
