/** What the v1 resource routes share: configuration, authentication and the domain services. */
import type { AdapterService } from '../../adapters/adapter-service.js';
import type { ServerConfig } from '../../config/schema.js';
import type { Authenticator } from '../../http/auth.js';
import type { JobService } from '../../jobs/job-service.js';
import type { PropagationService } from '../../propagation/propagation-service.js';
import type { SegmentationService } from '../../segmentation/service.js';
import type { UploadStore } from '../../segmentation/uploads.js';

export interface V1Context {
  config: ServerConfig;
  auth: Authenticator;
  service: SegmentationService;
  uploads: UploadStore;
  jobs: JobService;
  adapters: AdapterService;
  propagations: PropagationService;
}
