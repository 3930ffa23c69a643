/** The v1 JSON API: models, image uploads, embeddings warm-up, segmentation. */
import express, { Router } from 'express';
import type { ServerConfig } from '../config/schema.js';
import type { Authenticator } from '../http/auth.js';
import { HttpProblem } from '../http/problem.js';
import { EmbeddingRequestSchema, segmentSchema } from '../http/schemas.js';
import type { SegmentationService } from '../segmentation/service.js';
import type { UploadStore } from '../segmentation/uploads.js';

export function v1Routes(o: { config: ServerConfig; auth: Authenticator; service: SegmentationService; uploads: UploadStore; providers: () => { id: string; provider: string }[] }): Router {
  const r = Router();
  const json = express.json({ limit: o.config.limits.jsonBytes, strict: true });
  const SegmentSchema = segmentSchema(o.config.limits.maxPoints);

  r.get('/models', o.auth.require('viewer'), (_req, res) => {
    const providers = new Map(o.providers().map((p) => [p.id, p.provider]));
    const models = o.config.models.map(({ id }) => {
      const m = o.service.model(id);
      const man = m.manifest;
      return {
        id,
        name: man.name,
        default: id === (o.config.defaultModel ?? o.config.models[0]!.id),
        variant: man.config.variant,
        inputSize: man.input_size,
        embedding: man.embedding,
        parameterCounts: man.parameter_counts,
        weightsSha256: man.weights_sha256,
        source: man.source,
        provider: providers.get(id) ?? 'cpu',
        adapters: [],
        activeAdapter: man.source.adapter ?? null,
      };
    });
    res.json({ models });
  });

  r.post(
    '/images',
    o.auth.require('viewer'),
    express.raw({ type: ['image/png', 'image/jpeg'], limit: o.config.limits.uploadBytes }),
    (req, res) => {
      if (!Buffer.isBuffer(req.body)) {
        throw new HttpProblem(415, 'Unsupported media type', 'send the image as the request body with Content-Type image/png or image/jpeg');
      }
      const up = o.uploads.add(new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.byteLength));
      res.status(201).json({ imageId: up.id, width: up.width, height: up.height, mediaType: up.type });
    },
  );

  r.post('/embeddings', o.auth.require('viewer'), json, async (req, res) => {
    const body = EmbeddingRequestSchema.parse(req.body ?? {});
    res.json(await o.service.warm(body.image, body.model));
  });

  r.post('/segment', o.auth.require('viewer'), json, async (req, res) => {
    const body = SegmentSchema.parse(req.body ?? {});
    res.json(await o.service.segment(body));
  });

  return r;
}
