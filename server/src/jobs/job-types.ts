/**
 * Fine-tuning jobs: what a caller may ask for and what the server remembers about each job. The
 * schemas and types are the v1 contract's (server/src/api/jobs.ts), shared with the admin panel.
 */
export {
  DEFAULT_HYPERPARAMETERS,
  FINISHED_STATES,
  HyperparametersSchema,
  JOB_PHASES,
  JOB_STATES,
  JobRequestSchema,
  MAX_VALIDATIONS,
  defaultValidateEvery,
  type Hyperparameters,
  type JobPhase,
  type JobProgress,
  type JobRecord,
  type JobRequest,
  type JobState,
  type JobValidation,
} from '../api/jobs.js';
