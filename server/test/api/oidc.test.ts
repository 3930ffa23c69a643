import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import type { RunningServer } from '../../src/server.js';
import { type FakeServer, httpServer } from '../helpers/fake-pacs.js';
import { get, startTestServer } from '../helpers/server.js';

describe('OIDC bearer tokens', () => {
  let idp: FakeServer;
  let server: RunningServer;
  let sign: (claims: Record<string, unknown>, audience?: string, expiresIn?: string) => Promise<string>;

  before(async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
    idp = await httpServer((req, res) => {
      if (req.url === '/.well-known/jwks.json') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ keys: [jwk] }));
      } else {
        res.statusCode = 404;
        res.end();
      }
    });
    sign = (claims, audience = 'glmedsa', expiresIn = '5m') =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
        .setIssuer(idp.url)
        .setAudience(audience)
        .setSubject('dr-who')
        .setIssuedAt()
        .setExpirationTime(expiresIn)
        .sign(privateKey);
    server = await startTestServer('http://127.0.0.1:9/dicom-web', {}, {
      GLMEDSA_AUTH: 'required',
      GLMEDSA_OIDC_ISSUER: idp.url,
      GLMEDSA_OIDC_AUDIENCE: 'glmedsa',
    });
  });

  after(async () => {
    await server?.close();
    await idp?.close();
  });

  test('a token signed by the issuer with a glmedsa role is accepted', async () => {
    const token = await sign({ roles: ['glmedsa:viewer'] });
    assert.equal((await get(`${server.url}/v1/models`, { authorization: `Bearer ${token}` })).status, 200);
  });

  test('wrong audience, expired, missing role or forged tokens are refused', async () => {
    const cases = [await sign({ roles: ['viewer'] }, 'another-app'), await sign({ roles: ['viewer'] }, 'glmedsa', '-1m'), await sign({ roles: ['nurse'] })];
    for (const token of cases) {
      const r = await get(`${server.url}/v1/models`, { authorization: `Bearer ${token}` });
      assert.equal(r.status, 401, JSON.stringify(r.body));
    }
    const { privateKey: other } = await generateKeyPair('RS256');
    const forged = await new SignJWT({ roles: ['admin'] }).setProtectedHeader({ alg: 'RS256', kid: 'test-key' }).setIssuer(idp.url).setAudience('glmedsa').setExpirationTime('5m').sign(other);
    assert.equal((await get(`${server.url}/v1/models`, { authorization: `Bearer ${forged}` })).status, 401);
  });
});
