/** GET /v1/models: the served models (built by the segmentation service). */
import { Router } from 'express';
import type { ModelsResponse } from '../../api/index.js';
import type { V1Context } from './context.js';

export function modelRoutes(c: V1Context): Router {
  const r = Router();
  r.get('/models', c.auth.require('viewer'), (_req, res) => {
    res.json(c.service.describeModels() satisfies ModelsResponse);
  });
  return r;
}
