/**
 * Propagation of a mask through a series: POST /v1/propagations -> 202 + Location,
 * GET /v1/propagations/:id, GET /v1/propagations/:id/events (server-sent events until it ends; a
 * client that goes away cancels it), POST /v1/propagations/:id/cancel.
 */
import { Router } from 'express';
import { type PropagationEventType, PropagationRequestSchema } from '../../api/index.js';
import { InvalidRequest } from '../../errors.js';
import { clientGone } from './client-gone.js';
import type { V1Context } from './context.js';
import { jsonBody } from './json-body.js';

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function propagationId(raw: unknown): string {
  const id = String(raw);
  if (!ID.test(id)) throw new InvalidRequest(`'${id.slice(0, 64)}' is not a propagation id`, { id: 'not a propagation id' });
  return id;
}

export function propagationRoutes(c: V1Context): Router {
  const r = Router();
  const viewer = c.auth.require('viewer');
  r.post('/propagations', viewer, jsonBody(c.config), async (req, res) => {
    const body = PropagationRequestSchema.parse(req.body ?? {});
    const record = await c.propagations.submit(body, clientGone(res));
    res.status(202).location(`${req.baseUrl}/propagations/${record.id}`).json(record);
  });
  r.get('/propagations/:id', viewer, (req, res) => {
    res.json(c.propagations.get(propagationId(req.params['id'])));
  });
  r.post('/propagations/:id/cancel', viewer, (req, res) => {
    res.status(202).json(c.propagations.cancel(propagationId(req.params['id'])));
  });
  r.get('/propagations/:id/events', viewer, (req, res) => {
    const id = propagationId(req.params['id']);
    c.propagations.get(id); // 404 before the stream starts
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
    const send = (type: PropagationEventType, data: unknown) => res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    let ended = false;
    let stop: ((gone: boolean) => void) | null = null;
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), 15_000);
    const end = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      stop?.(false);
      res.end();
    };
    stop = c.propagations.watch(id, (e) => {
      if (ended) return;
      if (e.type === 'slice') send('slice', { id: e.id, slice: e.slice });
      else if (e.type === 'progress') send('progress', { id: e.id, progress: e.progress });
      else send(e.type, e.summary);
      if (e.type === 'end') end();
    });
    if (ended) stop(false);
    // The client closed the stream before the end: it went away.
    res.on('close', () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      stop?.(true);
    });
  });
  return r;
}
