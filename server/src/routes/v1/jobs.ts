/**
 * Fine-tuning jobs (admin): POST /v1/jobs -> 202 + Location, GET /v1/jobs, GET /v1/jobs/:id,
 * GET /v1/jobs/:id/events (server-sent events until the job ends), POST /v1/jobs/:id/cancel.
 */
import { Router } from 'express';
import { InvalidRequest } from '../../errors.js';
import { FINISHED_STATES, type JobEventType, type JobListResponse, type JobRecord, JobRequestSchema } from '../../api/index.js';
import type { JobEvent } from '../../jobs/job-service.js';
import type { V1Context } from './context.js';
import { jsonBody } from './json-body.js';

const ID = /^[0-9a-f-]{36}$/;

function jobId(raw: unknown): string {
  const id = String(raw);
  if (!ID.test(id)) throw new InvalidRequest(`'${id.slice(0, 64)}' is not a job id`, { id: 'not a job id' });
  return id;
}

export function jobRoutes(c: V1Context): Router {
  const r = Router();
  const admin = c.auth.require('admin');
  r.post('/jobs', admin, jsonBody(c.config), async (req, res) => {
    const body = JobRequestSchema.parse(req.body ?? {});
    const principal = res.locals['principal'] as { name?: string } | undefined;
    const job = await c.jobs.submit(body, principal?.name ?? 'unknown', c.service.model().id);
    res.status(202).location(`${req.baseUrl}/jobs/${job.id}`).json(job);
  });
  r.get('/jobs', admin, async (_req, res) => {
    res.json({ jobs: await c.jobs.list() } satisfies JobListResponse);
  });
  r.get('/jobs/:id', admin, async (req, res) => {
    res.json(await c.jobs.get(jobId(req.params['id'])));
  });
  r.post('/jobs/:id/cancel', admin, async (req, res) => {
    res.status(202).json(await c.jobs.cancel(jobId(req.params['id'])));
  });
  r.get('/jobs/:id/events', admin, async (req, res) => {
    const id = jobId(req.params['id']);
    // Listening before the first read: a change made meanwhile (on another replica, in a cluster)
    // is held and sent after the record, so the stream cannot miss the job's end.
    let held: JobEvent[] | null = [];
    let ended = false;
    let heartbeat: NodeJS.Timeout | undefined;
    const send = (type: JobEventType, job: JobRecord) => res.write(`event: ${type}\ndata: ${JSON.stringify(job)}\n\n`);
    const deliver = (e: JobEvent) => {
      if (ended) return;
      send(e.type, e.job);
      if (FINISHED_STATES.includes(e.job.state)) {
        send('end', e.job);
        end();
      }
    };
    const off = c.jobs.on((e) => {
      if (e.job.id !== id) return;
      if (held) held.push(e);
      else deliver(e);
    });
    const end = () => {
      if (ended) return;
      ended = true;
      off();
      clearInterval(heartbeat);
      res.end();
    };
    let first: JobRecord;
    try {
      first = await c.jobs.get(id);
    } catch (err) {
      off();
      throw err;
    }
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.on('close', end);
    deliver({ type: 'state', job: first });
    const waiting = held;
    held = null;
    for (const e of waiting) deliver(e);
  });
  return r;
}
