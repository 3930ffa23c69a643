/** POST /v1/segment: prompts on an image -> run-length encoded masks. */
import { Router } from 'express';
import { type SegmentResponse, segmentRequestSchema } from '../../api/index.js';
import { clientGone } from './client-gone.js';
import type { V1Context } from './context.js';
import { jsonBody } from './json-body.js';

export function segmentRoutes(c: V1Context): Router {
  const r = Router();
  const schema = segmentRequestSchema(c.config.limits.maxPoints);
  r.post('/segment', c.auth.require('viewer'), jsonBody(c.config), async (req, res) => {
    const body = schema.parse(req.body ?? {});
    res.json((await c.service.segment(body, clientGone(res))) satisfies SegmentResponse);
  });
  return r;
}
