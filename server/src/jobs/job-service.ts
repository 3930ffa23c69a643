/**
 * What the HTTP routes see of fine-tuning jobs, whoever keeps them: the embedded runner of one
 * machine (`job-runner.ts`, SQLite) or the cluster's queue (`queued-job-runner.ts`, Redis with
 * BullMQ). Every call is asynchronous because the cluster's records live in another process.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_HYPERPARAMETERS, type JobRecord, type JobRequest, defaultValidateEvery } from '../api/jobs.js';
import type { JobEventType } from './fine-tune.js';

export interface JobEvent {
  type: JobEventType;
  job: JobRecord;
}

export interface JobService {
  /** Checks the request (model, dataset, room in the queue) and queues the job. */
  submit(req: JobRequest, requestedBy: string, defaultModel: string): Promise<JobRecord>;
  get(id: string): Promise<JobRecord>;
  /** Newest first. */
  list(): Promise<JobRecord[]>;
  cancel(id: string): Promise<JobRecord>;
  /** Every job's changes from now on, as stored (the events stream filters by job). */
  on(listener: (e: JobEvent) => void): () => void;
  close(): Promise<void>;
}

/** A new job's record, state 'queued', with the server's default hyperparameters filled in. */
/**
 * The job's dataset filter as it will read back from the store (a JSON document), not the in-memory
 * object a validator made: what is checked is what is stored and later run.
 */
export function storedDataset(req: JobRequest): Record<string, unknown> {
  return JSON.parse(JSON.stringify(req.dataset)) as Record<string, unknown>;
}

export function newJobRecord(req: JobRequest, model: string, requestedBy: string, dataset: Record<string, unknown>): JobRecord {
  return {
    id: randomUUID(),
    model,
    variant: req.variant,
    dataset,
    hyperparameters: { ...DEFAULT_HYPERPARAMETERS, validateEvery: defaultValidateEvery(req.hyperparameters.steps), ...req.hyperparameters },
    state: 'queued',
    phase: 'waiting',
    progress: { step: 0, steps: req.hyperparameters.steps, loss: null, etaSeconds: null, imagesPerSecond: null },
    validation: { before: null, now: null, images: null, step: null, history: [] },
    data: null,
    adapterVersion: null,
    reason: null,
    resumes: 0,
    pid: null,
    createdAt: new Date().toISOString(),
    startedAt: null,
    finishedAt: null,
    requestedBy,
  };
}
