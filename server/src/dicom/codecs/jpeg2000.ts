/**
 * JPEG 2000 frames (lossless 1.2.840.10008.1.2.4.90, lossy .91) decoded with OpenJPEG
 * (@cornerstonejs/codec-openjpeg, the build OHIF's image loader uses), and encoded with it for
 * tests and demo data.
 */
import type { PixelModule } from '../pixel-module.js';
import { type CodecFrameInfo, type EmbindObject, fullFrameInfo, WasmModule } from './emscripten.js';
import type { DecodeLimits } from './frame-limits.js';
import type { NativeFrame } from './frame-layout.js';
import { decodeJ2kFamily, type J2kFamilyDecoder } from './j2k-decode.js';
import { decompositionLevels } from './j2k-header.js';
import { runCodec } from './run-codec.js';

interface J2KEncoder extends EmbindObject {
  getDecodedBuffer(info: CodecFrameInfo): Uint8Array;
  setQuality(lossless: boolean, quantizationStep: number): void;
  setDecompositions(levels: number): void;
  encode(): void;
  getEncodedBuffer(): Uint8Array;
}

interface OpenJpeg {
  J2KDecoder: new () => J2kFamilyDecoder;
  J2KEncoder: new () => J2KEncoder;
}

const WHAT = 'JPEG 2000';

/** The OpenJPEG module of this thread. */
export const openJpeg = new WasmModule<OpenJpeg>('OpenJPEG', '@cornerstonejs/codec-openjpeg/wasmjs', '@cornerstonejs/codec-openjpeg/wasm');

/**
 * Decodes a JPEG 2000 frame (codestream or JP2 file) into native frame bytes, after checking its
 * SIZ header against the metadata and the limits. Needs `await openJpeg.load()` first.
 * @throws CorruptImage, UnsupportedImage
 */
export function decodeJpeg2000(bytes: Uint8Array, module: PixelModule, limits: DecodeLimits = {}): NativeFrame {
  return decodeJ2kFamily(openJpeg, WHAT, (m) => new m.J2KDecoder(), bytes, module, limits);
}

/** Options of {@link encodeJpeg2000}. */
interface Jpeg2000EncodeOptions {
  /**
   * Reversible 5/3 wavelet (lossless, the default), or the irreversible 9/7 wavelet (lossy). This
   * build of the encoder ignores compression-ratio settings: its lossy output stays within about
   * one unit of the input.
   */
  readonly lossless?: boolean;
}

/**
 * Encodes samples (8-bit bytes, or 16-bit words as little-endian bytes; interleaved colour) as a
 * JPEG 2000 codestream. Needs `await openJpeg.load()` first.
 */
export function encodeJpeg2000(samples: Uint8Array, info: CodecFrameInfo, options: Jpeg2000EncodeOptions = {}): Uint8Array {
  return runCodec(
    openJpeg,
    WHAT,
    (m) => new m.J2KEncoder(),
    (encoder) => {
      encoder.getDecodedBuffer(fullFrameInfo(info)).set(samples);
      encoder.setDecompositions(decompositionLevels(info));
      const lossless = options.lossless ?? true;
      encoder.setQuality(lossless, 0);
      encoder.encode();
      return encoder.getEncodedBuffer().slice();
    },
  );
}
