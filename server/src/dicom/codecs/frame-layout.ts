/**
 * From a codec's decoded samples to native frame bytes as the instance describes them (Explicit
 * VR Little Endian layout), so the uncompressed path decodes them like any other frame.
 */
import { CorruptImage } from '../errors.js';
import type { PixelModule } from '../pixel-module.js';
import type { CodestreamHeader } from './frame-limits.js';

/** Native frame bytes and their sample layout. */
export interface NativeFrame {
  readonly bytes: Uint8Array;
  /** 0 interleaved, 1 planar (the codec's output order, which can differ from the metadata's). */
  readonly planarConfiguration: 0 | 1;
}

/**
 * Lays decoded samples out in the instance's Bits Allocated: 8-bit samples are widened into
 * 16-bit words when the instance allocates 16 (sign-extended when the codestream is signed).
 * @throws CorruptImage when the codec produced a different number of bytes than the header implies
 */
export function toNativeFrame(decoded: Uint8Array, header: CodestreamHeader, module: PixelModule, planar: boolean, what: string): NativeFrame {
  const samples = header.width * header.height * header.components;
  const bytesPerSample = header.precision <= 8 ? 1 : 2;
  if (decoded.length !== samples * bytesPerSample) {
    throw new CorruptImage(`${what} decoder produced ${decoded.length} bytes, the header implies ${samples * bytesPerSample}`);
  }
  const planarConfiguration: 0 | 1 = planar && header.components > 1 ? 1 : 0;
  if (bytesPerSample * 8 === module.bitsAllocated) return { bytes: decoded, planarConfiguration };
  // 8-bit samples in 16-bit words.
  const words = new Uint16Array(samples);
  if (header.signed) {
    const signedBytes = new Int8Array(decoded.buffer, decoded.byteOffset, decoded.length);
    for (let i = 0; i < samples; i++) words[i] = signedBytes[i]! & 0xffff;
  } else {
    for (let i = 0; i < samples; i++) words[i] = decoded[i]!;
  }
  return { bytes: new Uint8Array(words.buffer), planarConfiguration };
}
