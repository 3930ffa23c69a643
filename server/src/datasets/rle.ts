/**
 * DICOM RLE Lossless (PS3.5 Annex G) frame decoding: a 64-byte header (segment count + 15
 * offsets), then one PackBits segment per byte plane, most significant plane first. OHIF writes
 * its SEGs this way by default.
 */

/** Decodes one PackBits segment into exactly `length` bytes; throws when it is short or overruns. */
function unpackBits(data: Uint8Array, start: number, end: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let o = 0;
  let i = start;
  while (i < end && o < length) {
    const n = (data[i++]! << 24) >> 24;
    if (n >= 0) {
      const count = n + 1;
      if (i + count > end || o + count > length) throw new RangeError('an RLE literal run overruns its segment');
      out.set(data.subarray(i, i + count), o);
      i += count;
      o += count;
    } else if (n !== -128) {
      const count = 1 - n;
      if (i >= end || o + count > length) throw new RangeError('an RLE repeat run overruns its segment');
      out.fill(data[i++]!, o, o + count);
      o += count;
    }
  }
  if (o !== length) throw new RangeError(`an RLE segment decodes to ${o} bytes, ${length} expected`);
  return out;
}

/**
 * Decodes an RLE frame of `bytesPerPlane` bytes per plane and `planes` planes (1 for 8-bit or
 * bit-packed data, 2 for 16-bit), returning little-endian interleaved bytes as uncompressed
 * Pixel Data holds them.
 */
export function decodeRleFrame(frame: Uint8Array, bytesPerPlane: number, planes: number): Uint8Array {
  if (frame.length < 64) throw new RangeError(`an RLE frame holds ${frame.length} bytes, shorter than its 64-byte header`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const count = view.getUint32(0, true);
  if (count !== planes) throw new RangeError(`the RLE frame has ${count} segments, ${planes} expected`);
  const offsets = Array.from({ length: count }, (_, k) => view.getUint32(4 + 4 * k, true));
  const out = new Uint8Array(bytesPerPlane * planes);
  for (let k = 0; k < count; k++) {
    const start = offsets[k]!;
    const end = k + 1 < count ? offsets[k + 1]! : frame.length;
    if (start < 64 || end > frame.length || start > end) throw new RangeError(`RLE segment ${k + 1} has offsets outside the frame`);
    const plane = unpackBits(frame, start, end, bytesPerPlane);
    // Segment 0 is the most significant byte; little endian puts it last.
    const byteIndex = planes - 1 - k;
    for (let p = 0; p < bytesPerPlane; p++) out[p * planes + byteIndex] = plane[p]!;
  }
  return out;
}
