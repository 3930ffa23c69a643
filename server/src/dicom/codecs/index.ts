/**
 * The compressed transfer syntaxes this server decodes itself (for frames the PACS will not
 * transcode), each mapped to its codec. Codecs are WASM modules loaded once per thread on first
 * use: {@link loadCodecFor} (async) before {@link decodeCompressedFrame} (sync, so it fits the
 * synchronous pixel path in the inference workers).
 */
import type { PixelModule } from '../pixel-module.js';
import type { WasmModule } from './emscripten.js';
import type { DecodeLimits } from './frame-limits.js';
import type { NativeFrame } from './frame-layout.js';
import { decodeHtj2k, openJph } from './htj2k.js';
import { decodeJpeg2000, openJpeg } from './jpeg2000.js';
import { charLs, decodeJpegLs } from './jpeg-ls.js';
import { readJpegLsHeader } from './jpeg-ls-header.js';

export type { DecodeLimits } from './frame-limits.js';
export type { NativeFrame } from './frame-layout.js';

interface Codec {
  readonly wasm: WasmModule<unknown>;
  readonly decode: (bytes: Uint8Array, module: PixelModule, limits?: DecodeLimits) => NativeFrame;
}

const JPEG_LS: Codec = { wasm: charLs as WasmModule<unknown>, decode: decodeJpegLs };
const JPEG_2000: Codec = { wasm: openJpeg as WasmModule<unknown>, decode: decodeJpeg2000 };
const HTJ2K: Codec = { wasm: openJph as WasmModule<unknown>, decode: decodeHtj2k };

const CODECS: ReadonlyMap<string, Codec> = new Map([
  ['1.2.840.10008.1.2.4.80', JPEG_LS],
  ['1.2.840.10008.1.2.4.81', JPEG_LS],
  ['1.2.840.10008.1.2.4.90', JPEG_2000],
  ['1.2.840.10008.1.2.4.91', JPEG_2000],
  ['1.2.840.10008.1.2.4.201', HTJ2K],
  ['1.2.840.10008.1.2.4.202', HTJ2K],
  ['1.2.840.10008.1.2.4.203', HTJ2K],
]);

/**
 * The transfer syntax a frame's bytes are actually in, judged from their first marker segments:
 * a JPEG 2000 family codestream (HTJ2K when SIZ announces the HT capability, ISO/IEC 15444-15
 * A.2), a JP2 file, or a JPEG-LS stream; undefined for anything else. For PACS answers that label
 * a compressed frame as uncompressed (Orthanc 1.10 does so for HTJ2K, whose UIDs its DICOM
 * toolkit does not know): the caller only asks when the bytes are too few to be the frame.
 */
export function sniffCompressedSyntax(bytes: Uint8Array): string | undefined {
  const word = (at: number): number => (bytes.length >= at + 2 ? (bytes[at]! << 8) | bytes[at + 1]! : -1);
  if (word(0) === 0xff4f && word(2) === 0xff51) {
    return (word(6) & 0x4000) !== 0 ? '1.2.840.10008.1.2.4.201' : '1.2.840.10008.1.2.4.90';
  }
  if (word(0) === 0x0000 && word(2) === 0x000c && word(4) === 0x6a50) return '1.2.840.10008.1.2.4.90';
  if (word(0) === 0xffd8) {
    try {
      readJpegLsHeader(bytes);
      return '1.2.840.10008.1.2.4.80';
    } catch {
      return undefined; // another JPEG process, or not JPEG at all
    }
  }
  return undefined;
}

/** True when the server decodes frames of this transfer syntax itself. */
export function serverDecodes(transferSyntaxUID: string): boolean {
  return CODECS.has(transferSyntaxUID);
}

/** Loads the codec for a transfer syntax into this thread (no-op for other syntaxes, or when loaded). */
export async function loadCodecFor(transferSyntaxUID: string): Promise<void> {
  await CODECS.get(transferSyntaxUID)?.wasm.load();
}

/**
 * Decodes a compressed frame into native bytes laid out as the instance describes (Explicit VR
 * Little Endian), or returns undefined when the server has no codec for the syntax. The codec
 * must have been loaded with {@link loadCodecFor}.
 * @throws CorruptImage, UnsupportedImage
 */
export function decodeCompressedFrame(transferSyntaxUID: string, bytes: Uint8Array, module: PixelModule, limits?: DecodeLimits): NativeFrame | undefined {
  return CODECS.get(transferSyntaxUID)?.decode(bytes, module, limits);
}
