/**
 * Adapter versions of a model: GET /v1/models/:id/adapters (viewer), and (admin)
 * POST .../adapters/:version/activate (also rollback to any earlier version) and
 * POST .../adapters/deactivate (back to the base model). Each answers with the versions after the call.
 */
import { Router } from 'express';
import type { AdapterListResponse } from '../../api/index.js';
import { InvalidRequest } from '../../errors.js';
import type { V1Context } from './context.js';

function version(raw: unknown): number {
  const s = String(raw);
  if (!/^[1-9]\d{0,8}$/.test(s)) throw new InvalidRequest(`'${s.slice(0, 32)}' is not an adapter version (a positive whole number)`, { version: 'not a version' });
  return Number(s);
}

export function adapterRoutes(c: V1Context): Router {
  const r = Router();
  const versions = (id: string): AdapterListResponse => ({ model: id, active: c.adapters.activeVersion(id), adapters: c.adapters.describe(id) });
  r.get('/models/:id/adapters', c.auth.require('viewer'), (req, res) => {
    res.json(versions(String(req.params['id'])));
  });
  r.post('/models/:id/adapters/deactivate', c.auth.require('admin'), async (req, res) => {
    const id = String(req.params['id']);
    await c.adapters.deactivate(id);
    res.json(versions(id));
  });
  r.post('/models/:id/adapters/:version/activate', c.auth.require('admin'), async (req, res) => {
    const id = String(req.params['id']);
    await c.adapters.activate(id, version(req.params['version']));
    res.json(versions(id));
  });
  return r;
}
