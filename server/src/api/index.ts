/**
 * @glmedsa/server/api: the v1 HTTP contract, safe to bundle for browsers (no Node.js modules, no
 * express, nothing from @glmedsa/models; only zod). The server validates requests and types its
 * responses with these schemas; the OHIF extension uses the same ones and decodes masks with
 * `decodeMask`.
 */
export * from './requests.js';
export * from './responses.js';
export * from './problem.js';
export * from './mask.js';
export * from './validation.js';
export * from './embedding-transfer.js';
export * from './jobs.js';
export * from './adapters.js';
export * from './whoami.js';
export * from './propagations.js';
export * from './routing.js';
