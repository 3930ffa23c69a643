/**
 * Hand-made baseline JPEG files for the large-image tests and benchmarks: a grayscale image whose
 * 8x8 blocks are flat (only DC coefficients are coded, every AC run ends at once), written from the
 * JPEG standard (ITU T.81), so an 8192 x 8192 file is made in a second with any content per block.
 */

/** The standard luminance DC table (T.81 K.3): code lengths 1..16 and the categories. */
const DC_BITS = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
const DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

/** Canonical Huffman codes from code-length counts: value -> [code, length]. */
function huffmanCodes(bits: number[], values: number[]): Map<number, [number, number]> {
  const codes = new Map<number, [number, number]>();
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    for (let i = 0; i < bits[len - 1]!; i++) codes.set(values[k++]!, [code++, len]);
    code <<= 1;
  }
  return codes;
}

class BitWriter {
  private readonly out: number[] = [];
  private acc = 0;
  private n = 0;
  write(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      if (++this.n === 8) this.flushByte();
    }
  }
  private flushByte(): void {
    this.out.push(this.acc);
    if (this.acc === 0xff) this.out.push(0x00); // byte stuffing
    this.acc = 0;
    this.n = 0;
  }
  bytes(): number[] {
    while (this.n !== 0) this.write(1, 1); // pad with ones
    return this.out;
  }
}

const segment = (marker: number, body: number[]) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];

/**
 * A grayscale baseline JPEG of `width` x `height` whose block (bx, by) is flat at `level(bx, by)`
 * (0..255; decoders give exactly that level, as quantisation is 1). `comment` adds a COM segment.
 */
export function flatBlocksJpeg(width: number, height: number, level: (bx: number, by: number) => number, comment?: string): Buffer {
  const dc = huffmanCodes(DC_BITS, DC_VALUES);
  const w = new BitWriter();
  let previous = 0;
  for (let by = 0; by < Math.ceil(height / 8); by++) {
    for (let bx = 0; bx < Math.ceil(width / 8); bx++) {
      const value = (Math.max(0, Math.min(255, Math.round(level(bx, by)))) - 128) * 8;
      const diff = value - previous;
      previous = value;
      const size = diff === 0 ? 0 : Math.floor(Math.log2(Math.abs(diff))) + 1;
      const [code, length] = dc.get(size)!;
      w.write(code, length);
      if (size) w.write(diff > 0 ? diff : diff + (1 << size) - 1, size);
      w.write(0, 1); // end of block: the AC table's only code
    }
  }
  const bytes = [
    0xff, 0xd8,
    ...(comment === undefined ? [] : segment(0xfe, [...Buffer.from(comment, 'latin1')])),
    ...segment(0xdb, [0x00, ...new Array<number>(64).fill(1)]),
    ...segment(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]),
    ...segment(0xc4, [0x00, ...DC_BITS, ...DC_VALUES]),
    ...segment(0xc4, [0x10, 1, ...new Array<number>(15).fill(0), 0x00]),
    ...segment(0xda, [1, 1, 0x00, 0, 63, 0]),
  ];
  return Buffer.concat([Buffer.from(bytes), Buffer.from(w.bytes()), Buffer.from([0xff, 0xd9])]);
}

/** The same JPEG with a COM segment after SOI: other bytes (another upload id), the same pixels. */
export function jpegWithComment(jpeg: Buffer, text: string): Buffer {
  return Buffer.concat([jpeg.subarray(0, 2), Buffer.from(segment(0xfe, [...Buffer.from(text, 'latin1')])), jpeg.subarray(2)]);
}
