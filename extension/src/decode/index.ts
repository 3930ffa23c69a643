/** Decoding clicks in the browser: one code path, run by the viewer and by the Node tests. */
export * from './decode-prompts.js';
export * from './fetch-decoder.js';
