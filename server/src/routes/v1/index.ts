/** The v1 JSON API, one router per resource (jobs and adapters join here). */
import { Router } from 'express';
import { adapterRoutes } from './adapters.js';
import { browserDecodeRoutes } from './browser-decode.js';
import type { V1Context } from './context.js';
import { embeddingRoutes } from './embeddings.js';
import { imageRoutes } from './images.js';
import { jobRoutes } from './jobs.js';
import { jsonOrNoBody } from './json-body.js';
import { modelRoutes } from './models.js';
import { propagationRoutes } from './propagations.js';
import { segmentRoutes } from './segment.js';
import { whoamiRoutes } from './whoami.js';

export type { V1Context } from './context.js';

export function v1Routes(c: V1Context): Router {
  const r = Router();
  r.use(jsonOrNoBody());
  for (const routes of [modelRoutes, adapterRoutes, imageRoutes, embeddingRoutes, segmentRoutes, jobRoutes, propagationRoutes, browserDecodeRoutes, whoamiRoutes]) r.use(routes(c));
  return r;
}
