/** POST /v1/images: PNG/JPEG uploads for clients without a PACS. */
import express, { Router } from 'express';
import type { ImageUploadResponse } from '../../api/index.js';
import { HttpProblem } from '../../http/problem.js';
import type { V1Context } from './context.js';

export function imageRoutes(c: V1Context): Router {
  const r = Router();
  r.post(
    '/images',
    c.auth.require('viewer'),
    express.raw({ type: ['image/png', 'image/jpeg'], limit: c.config.limits.uploadBytes }),
    (req, res) => {
      if (!Buffer.isBuffer(req.body)) {
        throw new HttpProblem(415, 'Unsupported media type', 'send the image as the request body with Content-Type image/png or image/jpeg');
      }
      const up = c.uploads.add(new Uint8Array(req.body.buffer, req.body.byteOffset, req.body.byteLength));
      const body: ImageUploadResponse = { imageId: up.id, width: up.width, height: up.height, mediaType: up.type };
      res.status(201).json(body);
    },
  );
  return r;
}
