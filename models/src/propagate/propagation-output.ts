/**
 * What a command-line propagation leaves behind: one mask PNG per slice that holds the object
 * (named after its slice) and `propagation.json` (every kept slice with its area and score, why
 * each direction ended, the timings), written last so a folder with it is complete.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writeMaskPng } from '../image/png.js';
import { decodeRle } from '../preprocess/mask-encoding.js';
import { writeJsonAtomic } from '../util/atomic-file.js';
import type { StackPropagation } from './stack-propagation.js';

/** The report of a propagation (the JSON the command prints and writes). */
export function propagationReport(p: StackPropagation, names: readonly string[], extra: Record<string, unknown> = {}) {
  const slices = [
    { index: p.seed.index, name: names[p.seed.index], from: 'seed', area: p.seed.area, score: p.seed.score },
    ...p.slices.map((s) => ({ index: s.index, name: names[s.index], from: s.direction, area: s.area, score: +s.score.toFixed(4) })),
  ].sort((a, b) => a.index - b.index);
  return {
    format: 'glmedsa-propagation',
    format_version: 1,
    ...extra,
    seed: { index: p.seed.index, name: names[p.seed.index] },
    found: { first: slices[0]!.index, last: slices[slices.length - 1]!.index, slices: slices.length },
    ended: p.result,
    slices,
    seconds: +p.seconds.toFixed(3),
    slicesPerSecond: +p.slicesPerSecond.toFixed(2),
    encodes: p.encodes,
  };
}

/** Writes each kept slice's mask as `<slice name>.png` and the report as propagation.json (last). */
export async function writePropagationOutput(dir: string, p: StackPropagation, names: readonly string[], width: number, height: number, report: object): Promise<void> {
  await mkdir(dir, { recursive: true });
  const base = (i: number) => path.join(dir, `${names[i]!.replace(/\.png$/i, '')}.png`);
  await writeMaskPng(base(p.seed.index), decodeRle({ size: [height, width], counts: p.seed.counts, order: 'row-major' }), width, height);
  for (const s of p.slices) await writeMaskPng(base(s.index), decodeRle({ size: [height, width], counts: Array.from(s.counts), order: 'row-major' }), width, height);
  await writeJsonAtomic(path.join(dir, 'propagation.json'), report);
}
