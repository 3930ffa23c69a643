/** Assembles the express application from its parts (no listening, no process concerns). */
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { AdapterService } from './adapters/adapter-service.js';
import type { ServerConfig } from './config/schema.js';
import { Authenticator } from './http/auth.js';
import { declaredBodyLimit } from './http/body-limits.js';
import { hostCheck } from './http/host-check.js';
import { cors, requestContext } from './http/middleware.js';
import { originCheck } from './http/origin-check.js';
import { notFoundHandler, problemHandler } from './http/problem.js';
import type { InferencePool } from './inference/pool.js';
import type { JobService } from './jobs/job-service.js';
import type { Metrics } from './metrics.js';
import type { PropagationService } from './propagation/propagation-service.js';
import { PROBE_ROLE, healthRoutes } from './routes/health.js';
import { v1Routes } from './routes/v1/index.js';
import type { PacsReadiness } from './segmentation/pacs-access.js';
import type { SegmentationService } from './segmentation/service.js';
import type { UploadStore } from './segmentation/uploads.js';
import { viewerRoutes } from './viewer/index.js';

interface AppParts {
  config: ServerConfig;
  log: Logger;
  metrics: Metrics;
  pool: InferencePool;
  service: SegmentationService;
  uploads: UploadStore;
  pacsCheck: () => Promise<PacsReadiness>;
  jobs: JobService;
  adapters: AdapterService;
  propagations: PropagationService;
  /** True once shutdown has begun: /readyz answers 503 so a balancer stops sending requests. */
  draining?: () => boolean;
}

export function createApp(p: AppParts): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(requestContext(p.log, p.metrics));
  // First of all routes (API, viewer, PACS proxy): DNS-rebinding protection.
  app.use(hostCheck({ allowedHosts: p.config.http.allowedHosts, listenHost: p.config.listen.host, authRequired: p.config.auth.mode === 'required' }));
  app.use(cors(p.config.cors.origins));
  // Before authentication: a page of another site gets no answer that depends on who is signed in,
  // and a body declared too large is refused before a byte of it is read.
  app.use(originCheck({ corsOrigins: p.config.cors.origins, publicUrl: p.config.http.publicUrl }));
  app.use(declaredBodyLimit(p.config.limits));
  const auth = new Authenticator(p.config.auth);
  app.use(healthRoutes({ pool: p.pool, metrics: p.metrics, uploads: p.uploads, pacsCheck: p.pacsCheck, requireProbeRole: auth.require(PROBE_ROLE), ...(p.draining ? { draining: p.draining } : {}) }));
  app.use('/v1', v1Routes({ config: p.config, auth, service: p.service, uploads: p.uploads, jobs: p.jobs, adapters: p.adapters, propagations: p.propagations }));
  if (p.config.viewer.enabled) app.use(viewerRoutes({ config: p.config, auth, log: p.log }));
  app.use(notFoundHandler);
  app.use(problemHandler(p.log));
  return app;
}
