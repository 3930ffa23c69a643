/**
 * Where an OIDC issuer's signing keys are: the configured JWKS URL, or the `jwks_uri` of the
 * issuer's discovery document (`<issuer>/.well-known/openid-configuration`, OpenID Connect
 * Discovery 1.0). Issuers without a discovery document (it answers 404) are read at
 * `<issuer>/.well-known/jwks.json`. Discovery runs on the first token and again after a failure.
 */
import { type JWTVerifyGetKey, createRemoteJWKSet } from 'jose';
import { z } from 'zod';

const DiscoveryDocument = z.object({ issuer: z.string(), jwks_uri: z.string().url() });

interface OidcKeySource {
  issuer: string;
  jwksUrl?: string | undefined;
  timeoutMs?: number;
}

const trimSlash = (s: string) => s.replace(/\/+$/, '');

/** Finds the issuer's JWKS URL from its discovery document; throws a sentence saying why not. */
async function discoverJwksUrl(issuer: string, timeoutMs = 5000): Promise<URL> {
  const url = `${trimSlash(issuer)}/.well-known/openid-configuration`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new Error(`the OIDC issuer's discovery document ${url} could not be read (${(err as Error).message})`);
  }
  if (res.status === 404) return new URL(`${trimSlash(issuer)}/.well-known/jwks.json`);
  if (!res.ok) throw new Error(`the OIDC issuer's discovery document ${url} answered HTTP ${res.status}`);
  const parsed = DiscoveryDocument.safeParse(await res.json().catch(() => null));
  if (!parsed.success) throw new Error(`the OIDC issuer's discovery document ${url} has no valid jwks_uri`);
  if (trimSlash(parsed.data.issuer) !== trimSlash(issuer)) {
    throw new Error(`the discovery document ${url} names the issuer ${parsed.data.issuer}, not ${issuer}`);
  }
  return new URL(parsed.data.jwks_uri);
}

/** A key getter for jose's jwtVerify that finds the issuer's keys as described above. */
export function issuerKeys(o: OidcKeySource): JWTVerifyGetKey {
  const timeoutDuration = o.timeoutMs ?? 5000;
  let keys: Promise<JWTVerifyGetKey> | undefined;
  const load = async () => createRemoteJWKSet(o.jwksUrl ? new URL(o.jwksUrl) : await discoverJwksUrl(o.issuer, timeoutDuration), { timeoutDuration });
  return async (header, token) => {
    // A failed discovery is forgotten, so the next token tries again (the issuer may have been down).
    keys ??= load().catch((err: unknown) => {
      keys = undefined;
      throw err;
    });
    return (await keys)(header, token);
  };
}
