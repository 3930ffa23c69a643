/** glmedsa synth: a folder of synthetic lesion phantoms (images, masks, manifest.json) for one site. */
import { parseArgs } from 'node:util';
import { CT_PHASES, type CtPhase } from '../synth/ct-volume.js';
import { PHANTOM_KINDS, writePhantomDataset, type PhantomKind } from '../synth/dataset.js';
import { writeVolumeDataset } from '../synth/volume-dataset.js';
import { SITES } from '../synth/sites.js';
import { consoleProgress, type ProgressSink } from '../util/progress.js';
import { UsageError, parseChoice, parseInteger, requireString } from './args.js';

export const synthHelp = `glmedsa synth --site ${Object.keys(SITES).join('|')} --n N --out DIR [--kind dermoscopy|ct] [--size S] [--seed K]
glmedsa synth --site ${Object.keys(SITES).join('|')} --kind ct --volumes N --out DIR [--slices D] [--slice-spacing MM] [--lesions 1-3] [--phase unenhanced|portal] [--every K] [--size S] [--seed K]

Writes N synthetic lesion phantoms as an acquisition site would show them: DIR/images/*.png,
DIR/masks/*.png (lesion = 255) and DIR/manifest.json, the dataset format that 'glmedsa train' and
'glmedsa eval' read. --kind dermoscopy (default): pigmented skin lesions with hair and vignetting;
ct: an abdominal slice in a soft-tissue window with a lesion in the liver, spleen or a kidney.
--size is the image side in pixels (default 256), --seed (default 0) fixes the data: item i
depends only on the seed and i, and two sites with the same seed show the same lesions.

With --volumes N (CT only), writes N abdominal phantom volumes instead: --slices D axial slices
(default 64) --slice-spacing MM apart (default 2.5) covering the upper abdomen, with 1-3 irregular
3D lesions in the liver, spleen or kidneys (--lesions fixes the count) and a label volume naming
every structure (body wall, fat, liver, spleen, stomach, kidneys, aorta, vena cava, vertebrae,
discs, spinal canal, ribs, bowel loops, muscles, table, lesions), each a connected object.
DIR/volumes/vNNNN/image.nii.gz (HU) and labels.nii.gz (object ids) hold each volume, the manifest
lists every object with its slice range; every K-th slice (--every, default 1) is also an item:
images/ (soft-tissue window), masks/ (the lesions on that slice, often empty) and labels/ (object
ids, 8-bit gray PNG). --phase fixes the contrast phase (default: drawn per volume).`;

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
      volumes: { type: 'string' },
      slices: { type: 'string' },
      'slice-spacing': { type: 'string' },
      lesions: { type: 'string' },
      phase: { type: 'string' },
      every: { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const siteName = requireString(values.site, '--site');
  if (!Object.prototype.hasOwnProperty.call(SITES, siteName)) {
    throw new UsageError(`--site must be one of ${Object.keys(SITES).join(', ')}, got '${siteName}'`);
  }
  const seed = parseInteger(values.seed, '--seed', 0, 0, Number.MAX_SAFE_INTEGER);
  const out = requireString(values.out, '--out');
  const kind = parseChoice<PhantomKind>(values.kind, '--kind', PHANTOM_KINDS, 'dermoscopy');
  if (values.volumes !== undefined) {
    if (kind !== 'ct') throw new UsageError('--volumes needs --kind ct (volumes are CT phantoms)');
    if (values.n !== undefined) throw new UsageError('give either --n (2D phantoms) or --volumes (phantom volumes), not both');
    const volumes = parseInteger(values.volumes, '--volumes', undefined, 1, 10000);
    const size = parseInteger(values.size, '--size', 256, 32, 2048);
    const slices = parseInteger(values.slices, '--slices', 64, 1, 1024);
    const spacing = values['slice-spacing'] === undefined ? 2.5 : Number(values['slice-spacing']);
    if (!(spacing > 0 && spacing <= 20)) throw new UsageError(`--slice-spacing expects millimetres in (0, 20], got '${values['slice-spacing']}'`);
    const lesions = values.lesions === undefined ? undefined : parseInteger(values.lesions, '--lesions', undefined, 1, 3);
    const phase = values.phase === undefined ? undefined : parseChoice<'unenhanced' | 'portal'>(values.phase, '--phase', ['unenhanced', 'portal'], 'unenhanced');
    const every = parseInteger(values.every, '--every', 1, 1, 1024);
    const phaseName: CtPhase | undefined = phase === undefined ? undefined : phase === 'portal' ? CT_PHASES[1] : CT_PHASES[0];
    const dataset = await writeVolumeDataset(
      out,
      { site: siteName, volumes, seed, size, slices, sliceSpacingMm: spacing, every, ...(lesions ? { lesions } : {}), ...(phaseName ? { phase: phaseName } : {}) },
      io.progress ?? consoleProgress(),
    );
    const objects = dataset.volumes!.reduce((s, v) => s + v.objects.length, 0);
    const lesionCount = dataset.volumes!.reduce((s, v) => s + v.objects.filter((o) => o.structure === 'lesion').length, 0);
    (io.out ?? process.stdout).write(
      `wrote ${volumes} CT phantom volume${volumes > 1 ? 's' : ''} of site ${siteName} (${size}x${size}x${slices}, ${spacing} mm slices, seed ${seed}) to ${out}: ${objects} labelled objects, ${lesionCount} lesions, ${dataset.count} slices as items\n`,
    );
    return;
  }
  const n = parseInteger(values.n, '--n', undefined, 1, 100000);
  const size = parseInteger(values.size, '--size', 256, 32, 4096);
  const dataset = await writePhantomDataset(out, { kind, site: siteName, n, size, seed }, io.progress ?? consoleProgress());
  const lesion = dataset.items.reduce((s, item) => s + item.lesion_pixels, 0) / (dataset.items.length * size * size);
  (io.out ?? process.stdout).write(
    `wrote ${n} ${kind} phantom${n > 1 ? 's' : ''} of site ${siteName} (${size}x${size}, seed ${seed}) to ${out}; lesions cover ${(lesion * 100).toFixed(1)}% of the pixels on average\n`,
  );
}
