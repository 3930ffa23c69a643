/**
 * The sentence the fine-tuning panel shows about the job its admin just started. It is made from
 * the job's latest record each time the record changes, so it says what the job is doing now
 * (queued, which step it trains, succeeded with the version it published, failed with the
 * server's reason, cancelled), never what it was doing when it was started.
 */
import type { JobRecord } from '@glmedsa/server/api';

/** Seconds left, as the panel writes them ('-' when the server has no estimate yet). */
export function eta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '-';
  const t = Math.max(0, Math.round(s));
  return t >= 60 ? `${Math.floor(t / 60)} min ${t % 60} s` : `${t} s`;
}

/** A Dice figure as the panel writes it ('-' until measured). */
export const dice = (d: number | null | undefined) => (d === null || d === undefined ? '-' : d.toFixed(3));
/** The server's reasons are sentences that may lack their full stop. */
const stop = (s: string) => (/[.!?]$/.test(s) ? s : `${s}.`);

function runningLine(job: JobRecord): string {
  const p = job.progress;
  switch (job.phase) {
    case 'waiting':
      return 'is starting';
    case 'validating-base':
      return "is running: measuring the base model's validation Dice";
    case 'training':
      return `is running: step ${p.step} of ${p.steps}${p.etaSeconds === null ? '' : `, about ${eta(p.etaSeconds)} left`}`;
    case 'validating-adapter':
      return "is running: measuring the new adapter's validation Dice";
    case 'publishing':
      return 'is running: publishing the new adapter version';
    case 'done':
      return 'is finishing';
  }
}

export function jobNotice(job: JobRecord): string {
  const name = `Job ${job.id.slice(0, 8)}`;
  switch (job.state) {
    case 'queued':
      return `${name} is queued: it starts when the server has finished the jobs before it.`;
    case 'running':
      return `${name} ${runningLine(job)}.`;
    case 'succeeded': {
      if (job.adapterVersion === null) return `${name} succeeded.`;
      const v = job.validation;
      const figures = v.before !== null || v.now !== null ? ` (validation Dice ${dice(v.before)} -> ${dice(v.now)})` : '';
      return `${name} succeeded and published version ${job.adapterVersion}${figures}; activate it below to serve it.`;
    }
    case 'failed':
      return job.reason ? `${name} failed: ${stop(job.reason)}` : `${name} failed.`;
    case 'cancelled':
      // The server's reasons read 'cancelled while running' / 'cancelled before it started'.
      if (!job.reason) return `${name} was cancelled; no version was published.`;
      return `${name} was ${/^cancelled\b/i.test(job.reason) ? stop(job.reason) : `cancelled: ${stop(job.reason)}`} No version was published.`;
  }
}
