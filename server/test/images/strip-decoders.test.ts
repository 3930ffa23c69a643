/**
 * The strip decoders of large images (issue 19) against the whole-image path they replace: the
 * PNG rows of every colour type, depth, filter and interlacing equal `decodePng`'s, the strip
 * resize equals SAM's resize of the whole image bit for bit, libjpeg-turbo's pixels agree with
 * jpeg-js's, and the row-by-row mask upsampling equals SAM's bilinear upsampling and threshold.
 */
import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { describe, test } from 'node:test';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { Rng, decodePng, dermoscopyPhantom, encodePng, interpolateBilinear, resizeLongestSide, siteProfile, summarizeLogits } from '@glmedsa/models';
import { decodeJpegRows } from '../../src/images/jpeg-decode.js';
import { decodePngRows, readPngChunks } from '../../src/images/png-rows.js';
import { renderForEncoder } from '../../src/images/render.js';
import { StripResizer } from '../../src/images/strip-resize.js';
import { summarizeUpsampled } from '../../src/inference/mask-upsample.js';
import { flatBlocksJpeg } from '../helpers/jpeg-craft.js';
import { craftPng, interlacedRgbPng, pngChunk, zerosZlib } from '../helpers/png-craft.js';

const LIMITS = { maxImageSide: 16_384, maxImagePixels: 64 * 1024 * 1024, largeImagePixels: 2048 * 2048 };

function noise(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** All rows of a PNG through the strip decoder. */
async function rowsOf(png: Uint8Array, stripRows = 7): Promise<{ width: number; height: number; data: Uint8Array }> {
  const chunks = readPngChunks(png);
  const { width, height } = chunks.layout;
  const data = new Uint8Array(width * height * 3);
  let at = 0;
  await decodePngRows(chunks, (rgb, rows) => {
    data.set(rgb.subarray(0, rows * width * 3), at);
    at += rows * width * 3;
  }, stripRows);
  return { width, height, data };
}

/** A PNG with `depth`-bit samples of colour type `colourType` (filter type 0), from samples given as numbers. */
function lowLevelPng(width: number, height: number, colourType: number, depth: number, samples: number[], palette?: number[]): Buffer {
  const perPixel = ({ 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 } as Record<number, number>)[colourType]!;
  const rowBytes = Math.ceil((width * perPixel * depth) / 8);
  const raw = Buffer.alloc(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    const line = raw.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1));
    for (let i = 0; i < width * perPixel; i++) {
      const v = samples[(y * width * perPixel + i) % samples.length]!;
      if (depth === 16) line.writeUInt16BE(v, i * 2);
      else if (depth === 8) line[i] = v;
      else line[Math.floor((i * depth) / 8)]! |= v << (8 - depth - ((i * depth) % 8));
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = depth;
  ihdr[9] = colourType;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    ...(palette ? [pngChunk('PLTE', Uint8Array.from(palette))] : []),
    pngChunk('IDAT', deflateSync(raw)),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

describe('the strip decoders give what the whole-image decoders give', () => {
  test('PNG: every colour type and depth pngjs writes, with its adaptive filters', async () => {
    const W = 37;
    const H = 23;
    for (const [colorType, bitDepth] of [[0, 8], [2, 8], [4, 8], [6, 8], [0, 16], [2, 16], [6, 16]] as const) {
      const png = new PNG({ width: W, height: H, colorType, bitDepth, inputColorType: 6, inputHasAlpha: true });
      const data = noise(W * H * 4 * (bitDepth === 16 ? 2 : 1), colorType * 31 + bitDepth);
      // Smooth halves too, so Sub/Up/Average/Paeth are all chosen somewhere.
      for (let i = 0; i < data.length / 2; i++) data[i] = (i >> 5) & 0xff;
      png.data = Buffer.from(data.subarray(0, W * H * 4));
      const bytes = PNG.sync.write(png, { colorType, bitDepth, inputColorType: 6, inputHasAlpha: true });
      const ours = await rowsOf(bytes);
      const theirs = decodePng(bytes);
      assert.deepEqual(Buffer.from(ours.data), Buffer.from(theirs.data), `colour type ${colorType}, ${bitDepth} bits`);
    }
  });

  test('PNG: 1, 2 and 4-bit gray, palette images and Adam7 interlacing', async () => {
    for (const depth of [1, 2, 4]) {
      const samples = Array.from(noise(200, depth), (v) => v & ((1 << depth) - 1));
      const bytes = lowLevelPng(19, 11, 0, depth, samples);
      assert.deepEqual(Buffer.from((await rowsOf(bytes)).data), Buffer.from(decodePng(bytes).data), `${depth}-bit gray`);
      const palette = Array.from(noise(3 * (1 << depth), 7 + depth));
      const indexed = lowLevelPng(19, 11, 3, depth, samples, palette);
      assert.deepEqual(Buffer.from((await rowsOf(indexed)).data), Buffer.from(decodePng(indexed).data), `${depth}-bit palette`);
    }
    const rgb = noise(29 * 17 * 3, 5);
    const interlaced = interlacedRgbPng(29, 17, rgb);
    assert.deepEqual(Buffer.from((await rowsOf(interlaced, 4)).data), Buffer.from(rgb));
  });

  test('PNG: a palette index past the palette, a bad CRC and a bomb are refused with our sentences', async () => {
    const bad = lowLevelPng(8, 8, 3, 8, [5], [1, 2, 3]);
    await assert.rejects(rowsOf(bad), /palette entry 5, past the palette/);
    const crc = Buffer.from(encodePng({ width: 4, height: 4, data: new Uint8Array(48) }));
    crc[crc.length - 20] ^= 1;
    assert.throws(() => readPngChunks(crc), /truncated or corrupt \(the (IDAT|IEND) chunk fails its CRC\)/);
    const bomb = craftPng({ width: 256, height: 256 }, await zerosZlib(64 << 20));
    await assert.rejects(rowsOf(bomb), /decompresses to more than the 196,864 bytes a 256x256 image needs/);
  });

  test('the strip resizer equals SAM\'s resize of the whole image, bit for bit', () => {
    for (const [w, h, side] of [[3000, 2000, 1024], [2049, 4100, 256], [777, 9000, 512]] as const) {
      const image = { width: w, height: h, data: noise(w * h * 3, w) };
      const r = new StripResizer(w, h, side);
      for (let y = 0; y < h; y += 61) {
        const n = Math.min(61, h - y);
        r.push(image.data.subarray(y * w * 3, (y + n) * w * 3), n);
      }
      const ours = r.finish();
      const theirs = resizeLongestSide(image, side);
      assert.equal(ours.width, theirs.width);
      assert.equal(ours.height, theirs.height);
      assert.ok(Buffer.from(ours.data).equals(Buffer.from(theirs.data)), `${w}x${h} -> ${side}`);
    }
  });

  test('JPEG: libjpeg-turbo gives jpeg-js\'s pixels within their rounding, and the exact levels of flat blocks', async () => {
    const W = 64;
    const H = 48;
    const rgba = Buffer.alloc(W * H * 4);
    for (let i = 0; i < W * H; i++) rgba.set([(i % W) * 4, Math.floor(i / W) * 5, 200 - (i % 50), 255], i * 4);
    const bytes = jpeg.encode({ width: W, height: H, data: rgba }, 95).data;
    const out = new Uint8Array(W * H * 3);
    let at = 0;
    await decodeJpegRows(bytes, W, H, (rgb, rows) => {
      out.set(rgb.subarray(0, rows * W * 3), at);
      at += rows * W * 3;
    }, { large: false, stripRows: 5 });
    const reference = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false }).data;
    let worst = 0;
    for (let i = 0; i < out.length; i++) worst = Math.max(worst, Math.abs(out[i]! - reference[i]!));
    assert.ok(worst <= 4, `libjpeg-turbo and jpeg-js differ by up to ${worst} levels`);
    const flat = flatBlocksJpeg(40, 24, (bx, by) => 10 + bx * 20 + by * 3);
    const gray: number[] = [];
    await decodeJpegRows(flat, 40, 24, (rgb, rows) => gray.push(...rgb.subarray(0, rows * 40 * 3)), { large: true });
    assert.equal(gray[0], 10);
    assert.equal(gray[(10 * 40 + 39) * 3], 10 + 4 * 20 + 3);
  });

  test('the streamed mask upsampling equals SAM\'s bilinear upsampling then the threshold', () => {
    const h = 96;
    const w = 128;
    const logits = new Float32Array(h * w);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) logits[y * w + x] = Math.sin(x / 9) * Math.cos(y / 7) + 0.2 * Math.sin((x * y) / 300) - 0.1;
    for (const [H, W] of [[1000, 1333], [2900, 3001], [96, 128]] as const) {
      const ours = summarizeUpsampled(logits, h, w, H, W);
      const theirs = summarizeLogits(interpolateBilinear(logits, 1, h, w, H, W), W, H);
      const differ = Math.abs(ours.area - theirs.area);
      assert.ok(differ <= (H * W) / 1e5, `${W}x${H}: areas ${ours.area} and ${theirs.area}`);
      assert.deepEqual(ours.bbox, theirs.bbox);
    }
  });

  test('a small upload is decoded whole, exactly as before', async () => {
    const image = dermoscopyPhantom(new Rng(9), 200, siteProfile('A')).image;
    const r = await renderForEncoder({ type: 'encoded', bytes: encodePng(image), mediaType: 'image/png' }, LIMITS, 256);
    assert.deepEqual(r.originalSize, [200, 200]);
    assert.ok(Buffer.from(r.image.data).equals(Buffer.from(image.data)));
  });
});

