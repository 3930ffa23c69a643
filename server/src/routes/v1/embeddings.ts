/** POST /v1/embeddings: warm the embedding cache for an image before the first click. */
import { Router } from 'express';
import { EmbeddingRequestSchema, type EmbeddingResponse } from '../../api/index.js';
import { clientGone } from './client-gone.js';
import type { V1Context } from './context.js';
import { jsonBody } from './json-body.js';

export function embeddingRoutes(c: V1Context): Router {
  const r = Router();
  r.post('/embeddings', c.auth.require('viewer'), jsonBody(c.config), async (req, res) => {
    const body = EmbeddingRequestSchema.parse(req.body ?? {});
    res.json((await c.service.warm(body.image, body.model, clientGone(res))) satisfies EmbeddingResponse);
  });
  return r;
}
