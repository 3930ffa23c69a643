/** PNG read/write round trips for gray, gray+alpha, RGB, RGBA, palette and 16-bit files made with pngjs. */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { PNG, type ColorType } from 'pngjs';
import { decodePng, readPng, writeGrayPng, writeMaskPng, writePng } from '../../src/image/png.js';
import { grayToRgb, rgbToGray } from '../../src/image/rgb-image.js';

const W = 5;
const H = 3;

/** Deterministic test pixel values (16-bit). */
function sample(x: number, y: number, c: number): number {
  return (x * 12011 + y * 7001 + c * 20011 + 123) % 65536;
}

/** A PNG of colour type `colorType` and `bitDepth` bits written by pngjs; also the expected 8-bit RGB. */
function makePng(colorType: ColorType, bitDepth: 8 | 16): { bytes: Buffer; rgb: Uint8Array } {
  const channels = { 0: 1, 2: 3, 4: 2, 6: 4 }[colorType];
  const hasAlpha = colorType === 4 || colorType === 6;
  const png = new PNG({ width: W, height: H });
  // pngjs packs from RGBA input (16-bit values in a Uint16Array when bitDepth is 16)
  const input = bitDepth === 16 ? new Uint16Array(W * H * 4) : new Uint8Array(W * H * 4);
  const rgb = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      for (let c = 0; c < 4; c++) {
        const colourC = channels <= 2 ? 0 : c; // gray: replicate channel 0
        // opaque when the file has no alpha (pngjs would otherwise blend with a background colour)
        const v16 = c === 3 ? (hasAlpha ? sample(x, y, 3) : 65535) : sample(x, y, colourC);
        input[i * 4 + c] = bitDepth === 16 ? v16 : v16 >> 8;
      }
      for (let c = 0; c < 3; c++) {
        const v = input[i * 4 + c]!;
        rgb[i * 3 + c] = bitDepth === 16 ? Math.floor((v * 255) / 65535 + 0.5) : v;
      }
    }
  }
  png.data = bitDepth === 16 ? Buffer.from(input.buffer) : Buffer.from(input);
  const bytes = PNG.sync.write(png, { colorType, bitDepth, inputColorType: 6, inputHasAlpha: true });
  const meta = PNG.sync.read(bytes, { skipRescale: true });
  assert.equal(meta.colorType, colorType);
  assert.equal(meta.depth, bitDepth);
  assert.equal(meta.alpha, hasAlpha);
  return { bytes, rgb };
}

/** A hand-built palette PNG (pngjs cannot write one): 2x2, palette red/green/blue/white, with tRNS. */
function palettePng(): Buffer {
  const { crc32 } = crcTools();
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(2, 0);
  ihdr.writeUInt32BE(2, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 3; // palette
  const plte = Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]);
  const trns = Buffer.from([0, 128, 255, 255]);
  const raw = Buffer.from([0, 0, 1, 0, 2, 3]); // filter 0 per row
  const idat = deflateSync(raw);
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return Buffer.concat([sig, chunk('IHDR', ihdr), chunk('PLTE', plte), chunk('tRNS', trns), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

function crcTools(): { crc32: (b: Buffer) => number } {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return {
    crc32: (b) => {
      let c = 0xffffffff;
      for (const byte of b) c = table[(c ^ byte) & 0xff]! ^ (c >>> 8);
      return (c ^ 0xffffffff) >>> 0;
    },
  };
}

const cases: Array<[string, ColorType, 8 | 16]> = [
  ['gray 8', 0, 8],
  ['gray 16', 0, 16],
  ['gray+alpha 8', 4, 8],
  ['gray+alpha 16', 4, 16],
  ['RGB 8', 2, 8],
  ['RGB 16', 2, 16],
  ['RGBA 8', 6, 8],
  ['RGBA 16', 6, 16],
];

for (const [label, colorType, depth] of cases) {
  test(`readPng: ${label} -> 8-bit RGB (alpha dropped, gray replicated, 16-bit scaled)`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'glmedsa-png-'));
    try {
      const { bytes, rgb } = makePng(colorType, depth);
      const path = join(dir, 'in.png');
      writeFileSync(path, bytes);
      const fromFile = await readPng(path);
      const fromBytes = await readPng(new Uint8Array(bytes));
      assert.deepEqual([fromFile.width, fromFile.height], [W, H]);
      assert.deepEqual(fromFile.data, rgb);
      assert.deepEqual(fromBytes.data, rgb);
      // and back out as 8-bit RGB
      const out = join(dir, 'out.png');
      await writePng(out, fromFile);
      assert.deepEqual((await readPng(out)).data, rgb);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('readPng: palette with tRNS keeps palette colours', () => {
  const img = decodePng(palettePng());
  assert.deepEqual([img.width, img.height], [2, 2]);
  assert.deepEqual([...img.data], [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]);
});

test('readPng: an RGB tRNS colour key does not blacken matching pixels', () => {
  const { bytes } = makePng(2, 8);
  const rgb = decodePng(bytes);
  // insert a tRNS chunk keying the first pixel's colour, right before IDAT
  const key = Buffer.alloc(6);
  for (let c = 0; c < 3; c++) key.writeUInt16BE(rgb.data[c]!, c * 2);
  const { crc32 } = crcTools();
  const td = Buffer.concat([Buffer.from('tRNS', 'latin1'), key]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(6);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  const idat = bytes.indexOf(Buffer.from('IDAT', 'latin1')) - 4;
  const keyed = Buffer.concat([bytes.subarray(0, idat), len, td, crc, bytes.subarray(idat)]);
  assert.equal(PNG.sync.read(keyed).data[0], 0); // pngjs alone zeroes it
  assert.deepEqual(decodePng(keyed).data, rgb.data);
});

test('readPng rejects non-PNG bytes', () => {
  assert.throws(() => decodePng(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9])), /not a PNG/);
});

test('writeMaskPng writes 0/255 gray atomically; writeGrayPng round trips', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'glmedsa-png-'));
  try {
    const mask = new Uint8Array([0, 1, 0, 7, 0, 1]);
    const path = join(dir, 'mask.png');
    await writeMaskPng(path, mask, 3, 2);
    const meta = PNG.sync.read(readFileSync(path));
    assert.equal(meta.colorType, 0);
    assert.equal(meta.depth, 8);
    const back = await readPng(path);
    assert.deepEqual([...rgbToGray(back).data], [0, 255, 0, 255, 0, 255]);
    // overwriting replaces the file and leaves no temporary files behind
    await writeMaskPng(path, new Uint8Array(6).fill(1), 3, 2);
    assert.deepEqual([...rgbToGray(await readPng(path)).data], [255, 255, 255, 255, 255, 255]);
    assert.deepEqual(readdirSync(dir), ['mask.png']);
    const gray = { width: 3, height: 2, data: new Uint8Array([0, 50, 100, 150, 200, 250]) };
    await writeGrayPng(join(dir, 'g.png'), gray);
    assert.deepEqual((await readPng(join(dir, 'g.png'))).data, grayToRgb(gray).data);
    await assert.rejects(writeMaskPng(join(dir, 'bad.png'), mask, 2, 2), /does not fit/);
    await assert.rejects(writePng(join(dir, 'missing', 'x.png'), grayToRgb(gray)));
    assert.deepEqual(readdirSync(dir).sort(), ['g.png', 'mask.png']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
