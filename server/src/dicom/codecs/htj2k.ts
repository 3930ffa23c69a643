/**
 * High-Throughput JPEG 2000 frames (lossless 1.2.840.10008.1.2.4.201, lossless RPCL .202, lossy
 * .203) decoded with OpenJPH (@cornerstonejs/codec-openjph, the build OHIF's image loader uses),
 * and encoded with it for tests and demo data.
 */
import type { PixelModule } from '../pixel-module.js';
import { type CodecFrameInfo, type EmbindObject, fullFrameInfo, WasmModule } from './emscripten.js';
import type { DecodeLimits } from './frame-limits.js';
import type { NativeFrame } from './frame-layout.js';
import { decodeJ2kFamily, type J2kFamilyDecoder } from './j2k-decode.js';
import { decompositionLevels } from './j2k-header.js';
import { runCodec } from './run-codec.js';

interface HTJ2KEncoder extends EmbindObject {
  getDecodedBuffer(info: CodecFrameInfo): Uint8Array;
  setQuality(reversible: boolean, quantizationStep: number): void;
  setDecompositions(levels: number): void;
  encode(): void;
  getEncodedBuffer(): Uint8Array;
}

interface OpenJph {
  HTJ2KDecoder: new () => J2kFamilyDecoder;
  HTJ2KEncoder: new () => HTJ2KEncoder;
}

const WHAT = 'HTJ2K';

/** The OpenJPH module of this thread. */
export const openJph = new WasmModule<OpenJph>('OpenJPH', '@cornerstonejs/codec-openjph/wasmjs', '@cornerstonejs/codec-openjph/wasm');

/**
 * Decodes an HTJ2K frame into native frame bytes, after checking its SIZ header against the
 * metadata and the limits. Needs `await openJph.load()` first.
 * @throws CorruptImage, UnsupportedImage
 */
export function decodeHtj2k(bytes: Uint8Array, module: PixelModule, limits: DecodeLimits = {}): NativeFrame {
  return decodeJ2kFamily(openJph, WHAT, (m) => new m.HTJ2KDecoder(), bytes, module, limits);
}

/** Options of {@link encodeHtj2k}. */
interface Htj2kEncodeOptions {
  /** Reversible (lossless) wavelet, default true. */
  readonly lossless?: boolean;
  /** Lossy only: quantization step relative to the sample range (default 0.001). */
  readonly quantizationStep?: number;
}

/**
 * Encodes samples (8-bit bytes, or 16-bit words as little-endian bytes; interleaved colour) as an
 * HTJ2K codestream. Needs `await openJph.load()` first.
 */
export function encodeHtj2k(samples: Uint8Array, info: CodecFrameInfo, options: Htj2kEncodeOptions = {}): Uint8Array {
  return runCodec(
    openJph,
    WHAT,
    (m) => new m.HTJ2KEncoder(),
    (encoder) => {
      encoder.getDecodedBuffer(fullFrameInfo(info)).set(samples);
      encoder.setDecompositions(decompositionLevels(info));
      const lossless = options.lossless ?? true;
      encoder.setQuality(lossless, lossless ? 0 : (options.quantizationStep ?? 0.001));
      encoder.encode();
      return encoder.getEncodedBuffer().slice();
    },
  );
}
