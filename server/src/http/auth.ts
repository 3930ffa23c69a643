/**
 * Authentication and roles: API keys (header X-API-Key or "Authorization: ApiKey ...") and
 * OIDC bearer JWTs verified against the issuer's JWKS (jose). Roles are ordered
 * viewer < annotator < admin; a route states the least role it needs.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { Role, ServerConfig } from '../config/schema.js';
import { issuerKeys } from './oidc-keys.js';
import { sendProblem } from './problem.js';

const RANK: Record<Role, number> = { viewer: 1, annotator: 2, admin: 3 };

export interface Principal {
  name: string;
  role: Role;
  via: 'api-key' | 'oidc' | 'anonymous';
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export class Authenticator {
  private readonly keys: { digest: Buffer; role: Role; name: string }[];
  private readonly jwks?: JWTVerifyGetKey;

  constructor(private readonly config: ServerConfig['auth']) {
    this.keys = config.apiKeys.map((k) => ({
      digest: k.key.startsWith('sha256:') ? Buffer.from(k.key.slice(7), 'hex') : sha256(k.key),
      role: k.role,
      name: k.name,
    }));
    if (config.oidc) {
      this.jwks = issuerKeys({ issuer: config.oidc.issuer, jwksUrl: config.oidc.jwksUrl });
    }
  }

  get enabled(): boolean {
    return this.config.mode === 'required';
  }

  private byKey(key: string): Principal | null {
    const d = sha256(key);
    for (const k of this.keys) {
      if (k.digest.length === d.length && timingSafeEqual(k.digest, d)) return { name: k.name, role: k.role, via: 'api-key' };
    }
    return null;
  }

  private roleFromClaims(payload: JWTPayload): Role | null {
    const claim = this.config.oidc?.roleClaim ?? 'roles';
    const raw = claim.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), payload);
    const values = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(/[ ,]/) : [];
    let best: Role | null = null;
    for (const v of values) {
      const r = String(v).replace(/^glmedsa[:_-]/, '') as Role;
      if (r in RANK && (!best || RANK[r] > RANK[best])) best = r;
    }
    return best;
  }

  /** The caller, or a reason it is not authenticated. */
  async identify(headers: Record<string, string | string[] | undefined>): Promise<Principal | string> {
    const apiKey = headers['x-api-key'];
    const authz = typeof headers['authorization'] === 'string' ? headers['authorization'] : '';
    if (typeof apiKey === 'string' || /^ApiKey /i.test(authz)) {
      const key = typeof apiKey === 'string' ? apiKey : authz.slice(7).trim();
      return this.byKey(key) ?? 'the API key is not valid';
    }
    if (/^Bearer /i.test(authz)) {
      const token = authz.slice(7).trim();
      // A bearer token may also be an API key (clients that only speak bearer).
      const asKey = this.byKey(token);
      if (asKey) return asKey;
      if (!this.jwks || !this.config.oidc) return 'bearer tokens are not accepted (no OIDC issuer is configured)';
      try {
        const { payload } = await jwtVerify(token, this.jwks, { issuer: this.config.oidc.issuer, audience: this.config.oidc.audience });
        const role = this.roleFromClaims(payload);
        if (!role) return `the token carries no glmedsa role in its '${this.config.oidc.roleClaim}' claim`;
        return { name: String(payload.sub ?? 'oidc-user'), role, via: 'oidc' };
      } catch (err) {
        return `the bearer token was rejected (${(err as Error).message})`;
      }
    }
    return 'send an API key (X-API-Key header) or a bearer token';
  }

  /** Middleware requiring at least `role` (a no-op when authentication is off). */
  require(role: Role): RequestHandler {
    return (req, res, next) => {
      if (!this.enabled) {
        res.locals['principal'] = { name: 'anonymous', role: 'admin', via: 'anonymous' } satisfies Principal;
        return next();
      }
      this.identify(req.headers).then((p) => {
        if (typeof p === 'string') return sendProblem(res, 401, 'Authentication required', p);
        if (RANK[p.role] < RANK[role]) {
          return sendProblem(res, 403, 'Forbidden', `this needs the ${role} role; ${p.name} has ${p.role}`);
        }
        res.locals['principal'] = p;
        next();
      }, next);
    };
  }
}
