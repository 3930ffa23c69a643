/** The JSON body parser the v1 routes share (size limit from the configuration, objects and arrays only). */
import express, { type RequestHandler } from 'express';
import type { ServerConfig } from '../../config/schema.js';

export function jsonBody(config: ServerConfig): RequestHandler {
  return express.json({ limit: config.limits.jsonBytes, strict: true });
}
