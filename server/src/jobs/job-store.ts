/**
 * Where job state lives. The embedded default is SQLite; the interface is what a shared queue
 * (for several server replicas) would implement instead.
 */
import type { JobRecord, JobState } from '../api/jobs.js';

export interface JobStore {
  insert(job: JobRecord): void;
  get(id: string): JobRecord | undefined;
  /** Newest first. */
  list(): JobRecord[];
  /** Oldest first. */
  inState(state: JobState): JobRecord[];
  /** Applies `patch` to a job atomically and returns the result (undefined if it does not exist). */
  update(id: string, patch: Partial<Omit<JobRecord, 'id'>>): JobRecord | undefined;
  close(): void;
}
