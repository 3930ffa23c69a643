/**
 * What a browser needs to decode clicks itself: an image's embedding as binary
 * (GET /v1/embeddings/:model?<image reference>) and the served model's decoder
 * (GET /v1/models/:id/decoder.onnx, redirecting to an immutable URL keyed by its sha256).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import path from 'node:path';
import { Router, type Request, type Response } from 'express';
import { EMBEDDING_HEADERS as H, EmbeddingQuerySchema, encodeFloat16, imageSpecOfQuery } from '../../api/index.js';
import { NotFound } from '../../errors.js';
import type { ServedModel } from '../../catalog/model-catalog.js';
import { clientGone } from './client-gone.js';
import type { V1Context } from './context.js';

const DECODER = 'decoder.onnx';
const IMMUTABLE = 'private, max-age=31536000, immutable';

function decoderSha(m: ServedModel): string {
  const f = m.manifest.files[DECODER];
  if (!f) throw new NotFound(`model '${m.id}' has no ${DECODER}`);
  return f.sha256;
}

function versionHeaders(res: Response, m: ServedModel): void {
  res.setHeader(H.model, m.id);
  res.setHeader(H.inputSize, String(m.manifest.input_size));
  res.setHeader(H.weights, m.manifest.weights_sha256);
  res.setHeader(H.adapterVersion, m.adapterVersion === null ? 'base' : String(m.adapterVersion));
  res.setHeader(H.decoderSha256, decoderSha(m));
}

/** True when the request's If-None-Match names `etag` (or is `*`). */
function notModified(req: Request, etag: string): boolean {
  const inm = req.headers['if-none-match'];
  if (!inm) return false;
  return inm.split(',').some((t) => {
    const v = t.trim().replace(/^W\//, '');
    return v === etag || v === '*';
  });
}

export function browserDecodeRoutes(c: V1Context): Router {
  const r = Router();

  r.get('/embeddings/:model', c.auth.require('viewer'), async (req, res) => {
    const q = EmbeddingQuerySchema.parse(req.query);
    const found = await c.service.exportEmbedding(imageSpecOfQuery(q), String(req.params['model']));
    const etag = `"${createHash('sha256').update(`${found.key}|${q.dtype}`).digest('hex').slice(0, 32)}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', 'private, no-cache');
    res.setHeader('Vary', 'Authorization');
    versionHeaders(res, found.model);
    if (notModified(req, etag)) {
      res.status(304).end();
      return;
    }
    const emb = await found.load(clientGone(res));
    const { channels, size } = found.model.manifest.embedding;
    const body = q.dtype === 'float16' ? encodeFloat16(emb.embeddings) : new Uint8Array(emb.embeddings.buffer, emb.embeddings.byteOffset, emb.embeddings.byteLength);
    res.setHeader(H.shape, `1,${channels},${size},${size}`);
    res.setHeader(H.dtype, q.dtype);
    res.setHeader(H.originalSize, `${emb.originalSize[0]},${emb.originalSize[1]}`);
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(body.byteLength));
    res.end(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  });

  // The decoder of the version served now: a redirect to its immutable, checksummed URL.
  r.get('/models/:id/decoder.onnx', c.auth.require('viewer'), (req, res) => {
    const m = c.service.model(String(req.params['id']));
    versionHeaders(res, m);
    res.setHeader('Cache-Control', 'private, no-cache');
    res.redirect(302, `/v1/models/${encodeURIComponent(m.id)}/decoder/${decoderSha(m)}.onnx`);
  });

  r.get('/models/:id/decoder/:file', c.auth.require('viewer'), (req, res) => {
    const m = c.service.model(String(req.params['id']));
    const sha = decoderSha(m);
    if (req.params['file'] !== `${sha}.onnx`) {
      throw new NotFound(`model '${m.id}' does not serve that decoder now (its decoder is ${sha}.onnx; an adapter activation replaces it)`);
    }
    const etag = `"${sha}"`;
    res.setHeader('ETag', etag);
    res.setHeader('Cache-Control', IMMUTABLE);
    versionHeaders(res, m);
    if (notModified(req, etag)) {
      res.status(304).end();
      return;
    }
    res.setHeader('Content-Type', 'application/octet-stream');
    res.setHeader('Content-Length', String(m.manifest.files[DECODER]!.bytes));
    createReadStream(path.join(m.dir, DECODER)).on('error', () => res.destroy()).pipe(res);
  });

  return r;
}
