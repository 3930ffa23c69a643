/**
 * @glmedsa/models/decode: SAM's decode rules, once, for the server and the browser: prompt
 * coordinates into the encoder's frame, the padding point, the decoder's feeds, the multimask
 * default, the kept output tokens, the best mask, and masks as run lengths. Imports nothing from
 * Node.js or the DOM (a test holds it to that), so the OHIF extension bundles it; the session is
 * anything with `run(feeds)` (onnxruntime-node or onnxruntime-web).
 */
export * from './prompt-inputs.js';
export * from './mask-runs.js';
export * from './sam-decoder.js';
