/**
 * JPEG-LS frames (lossless 1.2.840.10008.1.2.4.80, near-lossless .81) decoded with CharLS
 * (@cornerstonejs/codec-charls, the build OHIF's image loader uses), and encoded with it for
 * tests and demo data. The codec reads and writes colour pixel-interleaved whatever the stream's
 * interleave mode.
 */
import type { PixelModule } from '../pixel-module.js';
import { type CodecFrameInfo, type EmbindObject, fullFrameInfo, WasmModule } from './emscripten.js';
import { checkFrameInfo, checkHeaderAgainstModule, type DecodeLimits } from './frame-limits.js';
import { toNativeFrame, type NativeFrame } from './frame-layout.js';
import { readJpegLsHeader } from './jpeg-ls-header.js';
import { runCodec } from './run-codec.js';

interface JpegLSDecoder extends EmbindObject {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): CodecFrameInfo;
  getDecodedBuffer(): Uint8Array;
}

interface JpegLSEncoder extends EmbindObject {
  getDecodedBuffer(info: CodecFrameInfo): Uint8Array;
  setNearLossless(near: number): void;
  setInterleaveMode(mode: number): void;
  encode(): void;
  getEncodedBuffer(): Uint8Array;
}

interface CharLs {
  JpegLSDecoder: new () => JpegLSDecoder;
  JpegLSEncoder: new () => JpegLSEncoder;
}

const WHAT = 'JPEG-LS';

/** The CharLS module of this thread. */
export const charLs = new WasmModule<CharLs>('CharLS', '@cornerstonejs/codec-charls/wasmjs', '@cornerstonejs/codec-charls/wasm');

/**
 * Decodes a JPEG-LS frame into native frame bytes, after checking its SOF55 header against the
 * metadata and the limits. JPEG-LS has no sign: signed pixels come back as their two's complement
 * bit patterns, which Pixel Representation then interprets. Needs `await charLs.load()` first.
 * @throws CorruptImage, UnsupportedImage
 */
export function decodeJpegLs(bytes: Uint8Array, module: PixelModule, limits: DecodeLimits = {}): NativeFrame {
  const header = readJpegLsHeader(bytes);
  checkHeaderAgainstModule(header, module, WHAT, limits);
  const decoded = runCodec(
    charLs,
    WHAT,
    (m) => new m.JpegLSDecoder(),
    (decoder) => {
      decoder.getEncodedBuffer(bytes.length).set(bytes);
      decoder.decode();
      checkFrameInfo(decoder.getFrameInfo(), header, WHAT);
      return decoder.getDecodedBuffer().slice();
    },
  );
  return toNativeFrame(decoded, header, module, false, WHAT);
}

/** Options of {@link encodeJpegLs}. */
interface JpegLsEncodeOptions {
  /** Largest error allowed per sample: 0 (default) is lossless. */
  readonly nearLossless?: number;
}

/**
 * Encodes samples (8-bit bytes, or 16-bit words as little-endian bytes; interleaved colour) as a
 * JPEG-LS stream (colour sample-interleaved). Needs `await charLs.load()` first.
 */
export function encodeJpegLs(samples: Uint8Array, info: CodecFrameInfo, options: JpegLsEncodeOptions = {}): Uint8Array {
  return runCodec(
    charLs,
    WHAT,
    (m) => new m.JpegLSEncoder(),
    (encoder) => {
      encoder.getDecodedBuffer(fullFrameInfo(info)).set(samples);
      encoder.setNearLossless(options.nearLossless ?? 0);
      if (info.componentCount > 1) encoder.setInterleaveMode(2);
      encoder.encode();
      return encoder.getEncodedBuffer().slice();
    },
  );
}
