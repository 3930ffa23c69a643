/** The frame size of a JPEG from its SOF marker segment, read without decoding anything. */

/** Width and height from the first SOF segment, or null when the bytes are not a JPEG with one. */
export function readJpegFrameSize(b: Uint8Array): { width: number; height: number } | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let i = 2;
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i += 1; // fill byte
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: (b[i + 5]! << 8) | b[i + 6]!, width: (b[i + 7]! << 8) | b[i + 8]! };
    }
    i += 2 + len;
  }
  return null;
}

/** What a walk of a JPEG's markers found (see {@link checkJpegStructure}). */
interface JpegStructure {
  width: number;
  height: number;
  components: number;
  /** Bytes of entropy-coded data in all scans. */
  scanBytes: number;
  /** Arithmetic coding (SOF9-SOF15): a block may cost under a bit, so no lower bound on the data holds. */
  arithmetic: boolean;
  /** 8x8 blocks of the component with the fewest (every scan codes each block of its components). */
  fewestBlocks: number;
}

/**
 * Walks the markers of a whole JPEG file without decoding it: a frame header, at least one scan,
 * the end-of-image marker, and enough entropy-coded data for the frame (with Huffman coding each
 * 8x8 block of a scan's component costs at least one bit). Returns null when the file is truncated
 * or not a JPEG; a 29-byte "JPEG" declaring 8192 x 8192 pixels and no scan fails here, at upload.
 */
export function checkJpegStructure(b: Uint8Array): JpegStructure | null {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return null;
  let frame: Omit<JpegStructure, 'scanBytes'> | null = null;
  let scanBytes = 0;
  let scans = 0;
  let i = 2;
  while (i + 1 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i += 1;
      continue;
    }
    if (marker === 0xd9) return frame && scans > 0 && (frame.arithmetic || scanBytes * 8 >= frame.fewestBlocks) ? { ...frame, scanBytes } : null;
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (i + 3 >= b.length) return null;
    const len = (b[i + 2]! << 8) | b[i + 3]!;
    if (len < 2 || i + 2 + len > b.length) return null;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (frame || len < 8) return null;
      const height = (b[i + 5]! << 8) | b[i + 6]!;
      const width = (b[i + 7]! << 8) | b[i + 8]!;
      const n = b[i + 9]!;
      if (n < 1 || len < 8 + 3 * n) return null;
      const factors = Array.from({ length: n }, (_, k) => ({ h: b[i + 11 + 3 * k]! >> 4, v: b[i + 11 + 3 * k]! & 15 }));
      if (factors.some((f) => f.h < 1 || f.v < 1)) return null;
      const hMax = Math.max(...factors.map((f) => f.h));
      const vMax = Math.max(...factors.map((f) => f.v));
      const blocks = factors.map((f) => Math.ceil(Math.ceil((width * f.h) / hMax) / 8) * Math.ceil(Math.ceil((height * f.v) / vMax) / 8));
      frame = { width, height, components: n, arithmetic: marker >= 0xc9, fewestBlocks: Math.min(...blocks) };
    }
    i += 2 + len;
    if (marker === 0xda) {
      if (!frame) return null;
      scans++;
      // Entropy-coded data runs to the next marker that is not a stuffed 0xFF00 or a restart marker.
      const start = i;
      while (i + 1 < b.length && !(b[i] === 0xff && b[i + 1] !== 0x00 && !(b[i + 1]! >= 0xd0 && b[i + 1]! <= 0xd7))) i++;
      scanBytes += i - start;
    }
  }
  return null;
}
