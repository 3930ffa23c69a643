/**
 * JPEG uploads decoded with libjpeg-turbo (the @cornerstonejs WASM build OHIF uses; the library
 * Pillow decodes with, so the pixels are those of SAM's reference pipeline), which refuses a
 * truncated or corrupt file instead of filling it in. The decoded pixels stay in the module's
 * memory and are handed out in strips from there, so a large image is held once, not copied; after
 * a large image the module is dropped, so its memory (which a WASM instance never gives back) goes
 * with it.
 */
import { UnprocessableImage } from '../errors.js';
import { type EmbindObject, WasmModule } from '../dicom/codecs/emscripten.js';
import type { RowSink } from './png-rows.js';

interface JpegDecoder extends EmbindObject {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number };
}

interface LibJpegTurbo {
  JPEGDecoder: new () => JpegDecoder;
}

const libjpeg = new WasmModule<LibJpegTurbo>('libjpeg-turbo', '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs', '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasm');

const CORRUPT = 'the JPEG image is truncated or corrupt';

/**
 * Decodes a JPEG of `width` x `height` (its frame header's size) and hands its rows to `sink` as
 * 8-bit RGB, in strips of `stripRows`. `large`: drop the decoder's memory afterwards.
 */
export async function decodeJpegRows(bytes: Uint8Array, width: number, height: number, sink: RowSink, o: { stripRows?: number; large: boolean }): Promise<void> {
  await libjpeg.load();
  const decoder = new (libjpeg.get().JPEGDecoder)();
  let failed = false;
  try {
    decoder.getEncodedBuffer(bytes.length).set(bytes);
    try {
      decoder.decode();
    } catch {
      failed = true;
      throw new UnprocessableImage(CORRUPT);
    }
    const info = decoder.getFrameInfo();
    if (info.width !== width || info.height !== height || info.bitsPerSample !== 8 || (info.componentCount !== 1 && info.componentCount !== 3)) {
      throw new UnprocessableImage(info.componentCount === 4 ? 'CMYK JPEG images are not supported; save it as RGB' : CORRUPT);
    }
    const decoded = decoder.getDecodedBuffer();
    const stripRows = Math.max(1, Math.min(o.stripRows ?? 64, height));
    const rgb = info.componentCount === 3 ? null : new Uint8Array(stripRows * width * 3);
    for (let y = 0; y < height; y += stripRows) {
      const n = Math.min(stripRows, height - y);
      if (!rgb) {
        sink(decoded.subarray(y * width * 3, (y + n) * width * 3), n);
        continue;
      }
      const gray = decoded.subarray(y * width, (y + n) * width);
      for (let i = 0; i < gray.length; i++) rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = gray[i]!;
      sink(rgb, n);
    }
  } finally {
    decoder.delete();
    // After an exception inside the module its memory is in an unknown state; after a large image
    // it holds the decoded pixels' worth of pages: a fresh instance next time either way.
    if (failed || o.large) libjpeg.discard();
  }
}
