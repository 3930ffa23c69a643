/** 8-bit RGB/gray images in memory and PNG files. */

export * from './rgb-image.js';
export * from './png.js';
