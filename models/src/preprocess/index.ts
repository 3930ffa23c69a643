/** Image pre-processing (resize, normalise), prompt encoding and mask post-processing for SAM. */

export * from './resize-longest-side.js';
export * from './normalize.js';
export * from './prompts.js';
export * from './bilinear.js';
export * from './postprocess.js';
export * from './mask-encoding.js';
export * from './base64.js';
export * from './mask-prompt.js';
