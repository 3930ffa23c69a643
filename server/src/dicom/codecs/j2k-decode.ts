/**
 * Decoding for the JPEG 2000 family (JPEG 2000 through OpenJPEG, HTJ2K through OpenJPH): both
 * codec builds expose the same decoder object, and both codestreams carry the same SIZ header, so
 * one routine checks the header against the metadata and the limits, runs the decoder, checks what
 * it reports, and lays the samples out as a native frame.
 */
import type { PixelModule } from '../pixel-module.js';
import type { CodecFrameInfo, EmbindObject, WasmModule } from './emscripten.js';
import { checkFrameInfo, checkHeaderAgainstModule, type DecodeLimits } from './frame-limits.js';
import { toNativeFrame, type NativeFrame } from './frame-layout.js';
import { UnsupportedImage } from '../errors.js';
import { hasComponentTransform, j2kCodestream, readJ2kHeader } from './j2k-header.js';
import { runCodec } from './run-codec.js';

/** The decoder object of OpenJPEG's and OpenJPH's builds. */
export interface J2kFamilyDecoder extends EmbindObject {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): CodecFrameInfo;
  getDecodedBuffer(): Uint8Array;
}

/**
 * Decodes one frame with `newDecoder` from the loaded `wasm` module; `what` names the format in
 * errors. @throws CorruptImage, UnsupportedImage
 */
export function decodeJ2kFamily<M>(
  wasm: WasmModule<M>,
  what: string,
  newDecoder: (m: M) => J2kFamilyDecoder,
  bytes: Uint8Array,
  module: PixelModule,
  limits: DecodeLimits,
): NativeFrame {
  const codestream = j2kCodestream(bytes, what);
  const header = readJ2kHeader(codestream, what);
  checkHeaderAgainstModule(header, module, what, limits);
  // YBR_ICT / YBR_RCT: the codestream's component transform, which the decoder inverts into RGB.
  // Without it the components would be something else than the metadata says, so it is refused.
  if ((module.photometric === 'YBR_ICT' || module.photometric === 'YBR_RCT') && !hasComponentTransform(codestream, what)) {
    throw new UnsupportedImage(`its colour encoding is ${module.photometric} but its ${what} codestream has no component transform to invert`);
  }
  const decoded = runCodec(wasm, what, newDecoder, (decoder) => {
    decoder.getEncodedBuffer(codestream.length).set(codestream);
    decoder.decode();
    checkFrameInfo(decoder.getFrameInfo(), header, what);
    return decoder.getDecodedBuffer().slice();
  });
  return toNativeFrame(decoded, header, module, false, what);
}
