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

describe('OIDC issuer keys found through the discovery document', () => {
  let idp: FakeServer;
  let server: RunningServer;
  let issuer: string;
  let privateKey: CryptoKey;
  const seen: string[] = [];

  before(async () => {
    const pair = await generateKeyPair('RS256');
    privateKey = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'kc-key', alg: 'RS256', use: 'sig' };
    // Keycloak's layout: the realm is the issuer, its keys are at /protocol/openid-connect/certs,
    // and nothing answers at <issuer>/.well-known/jwks.json.
    idp = await httpServer((req, res) => {
      seen.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      if (req.url === '/realms/glmedsa/.well-known/openid-configuration') {
        res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/protocol/openid-connect/certs`, token_endpoint: `${issuer}/protocol/openid-connect/token` }));
      } else if (req.url === '/realms/glmedsa/protocol/openid-connect/certs') {
        res.end(JSON.stringify({ keys: [jwk] }));
      } else {
        res.statusCode = 404;
        res.end('{}');
      }
    });
    issuer = `${idp.url}/realms/glmedsa`;
    server = await startTestServer('http://127.0.0.1:9/dicom-web', {}, {
      GLMEDSA_AUTH: 'required',
      GLMEDSA_OIDC_ISSUER: issuer,
      GLMEDSA_OIDC_AUDIENCE: 'glmedsa',
    });
  });

  after(async () => {
    await server?.close();
    await idp?.close();
  });

  const token = (key: CryptoKey, roles: string[]) =>
    new SignJWT({ roles }).setProtectedHeader({ alg: 'RS256', kid: 'kc-key' }).setIssuer(issuer).setAudience('glmedsa').setSubject('dr-kc').setExpirationTime('5m').sign(key);

  test('a token is verified with the keys at the jwks_uri the issuer publishes', async () => {
    const r = await get(`${server.url}/v1/models`, { authorization: `Bearer ${await token(privateKey, ['glmedsa:viewer'])}` });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(seen.includes('/realms/glmedsa/.well-known/openid-configuration'), `discovery was read: ${seen.join(', ')}`);
    assert.ok(seen.includes('/realms/glmedsa/protocol/openid-connect/certs'), `keys were read from jwks_uri: ${seen.join(', ')}`);
    assert.ok(!seen.some((u) => u.endsWith('/jwks.json')), `no guessed JWKS path was tried: ${seen.join(', ')}`);
  });

  test('a token signed with another key is still refused', async () => {
    const { privateKey: other } = await generateKeyPair('RS256');
    const r = await get(`${server.url}/v1/models`, { authorization: `Bearer ${await token(other, ['glmedsa:admin'])}` });
    assert.equal(r.status, 401);
  });
});

describe('OIDC discovery document of another issuer', () => {
  let idp: FakeServer;
  let server: RunningServer;

  before(async () => {
    idp = await httpServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ issuer: 'https://elsewhere.example', jwks_uri: 'https://elsewhere.example/certs' }));
    });
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

  test('is not trusted, and the refusal says why', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    const jwt = await new SignJWT({ roles: ['viewer'] }).setProtectedHeader({ alg: 'RS256' }).setIssuer(idp.url).setAudience('glmedsa').setExpirationTime('5m').sign(privateKey);
    const r = await get(`${server.url}/v1/models`, { authorization: `Bearer ${jwt}` });
    assert.equal(r.status, 401);
    assert.match(String(r.body['detail']), /names the issuer https:\/\/elsewhere\.example/);
  });
});
