/**
 * Fine-tuning jobs (admin): POST /v1/jobs -> 202 + Location, GET /v1/jobs, GET /v1/jobs/:id,
 * GET /v1/jobs/:id/events (server-sent events until the job ends), POST /v1/jobs/:id/cancel.
 */
import { Router } from 'express';
import { InvalidRequest } from '../../errors.js';
import { FINISHED_STATES, type JobEventType, type JobListResponse, type JobRecord, JobRequestSchema } from '../../api/index.js';
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
  r.get('/jobs', admin, (_req, res) => {
    res.json({ jobs: c.jobs.list() } satisfies JobListResponse);
  });
  r.get('/jobs/:id', admin, (req, res) => {
    res.json(c.jobs.get(jobId(req.params['id'])));
  });
  r.post('/jobs/:id/cancel', admin, (req, res) => {
    res.status(202).json(c.jobs.cancel(jobId(req.params['id'])));
  });
  r.get('/jobs/:id/events', admin, (req, res) => {
    const id = jobId(req.params['id']);
    const first = c.jobs.get(id);
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    const send = (type: JobEventType, job: JobRecord) => res.write(`event: ${type}\ndata: ${JSON.stringify(job)}\n\n`);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      off();
      clearInterval(heartbeat);
      res.end();
    };
    const off = c.jobs.on((e) => {
      if (e.job.id !== id) return;
      send(e.type, e.job);
      if (FINISHED_STATES.includes(e.job.state)) {
        send('end', e.job);
        end();
      }
    });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    req.on('close', end);
    send('state', first);
    if (FINISHED_STATES.includes(first.state)) {
      send('end', first);
      end();
    }
  });
  return r;
}
