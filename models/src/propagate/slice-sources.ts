/**
 * Stacks of slices the command line propagates through: a folder of PNG slices (ordered by file
 * name, numbers compared as numbers) and the lesion-stack phantom. A CT volume phantom or any other
 * stack plugs in as one more SliceSource.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readPng, type RgbImage } from '../image/index.js';
import { type LesionStack, lesionStackImage } from '../synth/lesion-stack.js';
import type { SliceSource } from './predictor-segmenter.js';

/** A stack with a name for each slice (for output files and reports). */
export interface NamedSliceSource extends SliceSource {
  readonly names: readonly string[];
}

const collator = new Intl.Collator('en', { numeric: true });

/** The PNG files of a folder as a stack, in natural order of their names; all must have one size. */
export async function pngFolderSource(dir: string): Promise<NamedSliceSource> {
  const names = (await fs.readdir(dir)).filter((n) => n.toLowerCase().endsWith('.png')).sort(collator.compare);
  if (names.length === 0) throw new Error(`${dir} holds no .png slices`);
  const first = await readPng(path.join(dir, names[0]!));
  const { width, height } = first;
  return {
    names,
    count: names.length,
    width,
    height,
    async image(index: number): Promise<RgbImage> {
      const name = names[index];
      if (name === undefined) throw new Error(`there is no slice ${index} in ${dir}`);
      const image = index === 0 ? first : await readPng(path.join(dir, name));
      if (image.width !== width || image.height !== height) throw new Error(`slice ${name} is ${image.width}x${image.height}; the first slice is ${width}x${height}`);
      return image;
    },
  };
}

/** The slices of a lesion-stack phantom (its soft-tissue window). */
export function lesionStackSource(stack: LesionStack): NamedSliceSource {
  const count = stack.hu.length;
  return {
    names: Array.from({ length: count }, (_, i) => `slice-${String(i).padStart(3, '0')}`),
    count,
    width: stack.size,
    height: stack.size,
    image: async (index) => lesionStackImage(stack, index),
  };
}
