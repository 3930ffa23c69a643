/** glmedsa synth: a folder of synthetic lesion phantoms (images, masks, manifest.json) for one site. */
import { parseArgs } from 'node:util';
import { PHANTOM_KINDS, writePhantomDataset, type PhantomKind } from '../synth/dataset.js';
import { SITES } from '../synth/sites.js';
import { consoleProgress, type ProgressSink } from '../util/progress.js';
import { UsageError, parseChoice, parseInteger, requireString } from './args.js';

export const synthHelp = `glmedsa synth --site ${Object.keys(SITES).join('|')} --n N --out DIR [--kind dermoscopy|ct] [--size S] [--seed K]

Writes N synthetic lesion phantoms as an acquisition site would show them: DIR/images/*.png,
DIR/masks/*.png (lesion = 255) and DIR/manifest.json, the dataset format that 'glmedsa train' and
'glmedsa eval' read. --kind dermoscopy (default): pigmented skin lesions with hair and vignetting;
ct: an abdominal slice in a soft-tissue window with a lesion in the liver, spleen or a kidney.
--size is the image side in pixels (default 256), --seed (default 0) fixes the data: item i
depends only on the seed and i, and two sites with the same seed show the same lesions.`;

/** Where the command writes: its summary line and its progress (stdout and stderr by default). */
interface SynthIo {
  out?: { write(text: string): unknown };
  progress?: ProgressSink;
}

export async function synthCommand(argv: string[], io: SynthIo = {}): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      site: { type: 'string' },
      n: { type: 'string' },
      size: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      kind: { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const siteName = requireString(values.site, '--site');
  if (!Object.prototype.hasOwnProperty.call(SITES, siteName)) {
    throw new UsageError(`--site must be one of ${Object.keys(SITES).join(', ')}, got '${siteName}'`);
  }
  const n = parseInteger(values.n, '--n', undefined, 1, 100000);
  const size = parseInteger(values.size, '--size', 256, 32, 4096);
  const seed = parseInteger(values.seed, '--seed', 0, 0, Number.MAX_SAFE_INTEGER);
  const out = requireString(values.out, '--out');
  const kind = parseChoice<PhantomKind>(values.kind, '--kind', PHANTOM_KINDS, 'dermoscopy');
  const dataset = await writePhantomDataset(out, { kind, site: siteName, n, size, seed }, io.progress ?? consoleProgress());
  const lesion = dataset.items.reduce((s, item) => s + item.lesion_pixels, 0) / (dataset.items.length * size * size);
  (io.out ?? process.stdout).write(
    `wrote ${n} ${kind} phantom${n > 1 ? 's' : ''} of site ${siteName} (${size}x${size}, seed ${seed}) to ${out}; lesions cover ${(lesion * 100).toFixed(1)}% of the pixels on average\n`,
  );
}
