/** GET /v1/whoami: the caller's name and role, so that the viewer shows admins their controls and nobody else. */
import { Router } from 'express';
import type { WhoamiResponse } from '../../api/index.js';
import type { Principal } from '../../http/auth.js';
import type { V1Context } from './context.js';

export function whoamiRoutes(c: V1Context): Router {
  const r = Router();
  r.get('/whoami', c.auth.require('viewer'), (_req, res) => {
    const p = res.locals['principal'] as Principal;
    res.json({ name: p.name, role: p.role, via: p.via, authRequired: c.auth.enabled } satisfies WhoamiResponse);
  });
  return r;
}
