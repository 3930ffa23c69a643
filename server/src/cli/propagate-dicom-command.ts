/**
 * glmedsa-server propagate --dicom DIR: the models' `glmedsa propagate` on a folder of DICOM files.
 * It lives in the server package because the models package knows no DICOM: the folder is read
 * and ordered as a volume by the server's own series geometry, each slice rendered as the server
 * renders PACS frames, and the same propagation loop runs on it.
 */
import { parseArgs } from 'node:util';
import { PROPAGATION_DIRECTIONS, type PropagationDirection, SamPredictor, type StackSeed, type StopRule, propagateStack, propagationReport, readMaskPng, stopRuleFromJson, writePropagationOutput } from '@glmedsa/models';
import { ServerConfigSchema } from '../config/schema.js';
import { readDicomFolder } from '../series/dicom-folder.js';

const PROPAGATE_HELP = `glmedsa-server propagate --model DIR --dicom DIR --seed-slice N|SOP[:FRAME] (--seed-point x,y | --seed-mask FILE.png)
                        [--series UID] [--voi center,width] [--direction both|forward|backward]
                        [--max-slices N] [--stop-rule JSON] [--out DIR] [--json] [--device auto|cpu|cuda] [--threads N]

Propagates a mask through a series of DICOM files as the server does through a PACS series: the
files (any folder layout) are ordered by their position along the slice normal (multi-frame images
by their per-frame positions) and checked to be a volume; --seed-slice is an index in that order or
a SOP Instance UID (with :FRAME for multi-frame images). The slices are windowed with --voi (else
each image's own window). --out gets one mask PNG per slice holding the object (named index-SOP
UID) and propagation.json. The other options are those of glmedsa propagate.`;

class UsageError extends Error {}

function numbers(value: string, flag: string, count: number): number[] {
  const parts = value.split(',').map(Number);
  if (parts.length !== count || parts.some((n) => !Number.isFinite(n))) throw new UsageError(`${flag} expects ${count} comma-separated numbers, got '${value}'`);
  return parts;
}

export async function propagateDicomCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string' },
        dicom: { type: 'string' },
        series: { type: 'string' },
        'seed-slice': { type: 'string' },
        'seed-point': { type: 'string' },
        'seed-mask': { type: 'string' },
        voi: { type: 'string' },
        direction: { type: 'string' },
        'max-slices': { type: 'string' },
        'stop-rule': { type: 'string' },
        out: { type: 'string' },
        json: { type: 'boolean' },
        device: { type: 'string' },
        threads: { type: 'string' },
        help: { type: 'boolean' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`glmedsa-server propagate: ${(err as Error).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${PROPAGATE_HELP}\n`);
    return 0;
  }
  try {
    return await run(values);
  } catch (err) {
    process.stderr.write(`glmedsa-server propagate: ${(err as Error).message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

async function run(values: Record<string, string | boolean | undefined>): Promise<number> {
  const str = (k: string) => (typeof values[k] === 'string' ? (values[k] as string) : undefined);
  const model = str('model');
  const dir = str('dicom');
  if (!model || !dir) throw new UsageError('--model DIR and --dicom DIR are required');
  const direction = (str('direction') ?? 'both') as PropagationDirection;
  if (!PROPAGATION_DIRECTIONS.includes(direction)) throw new UsageError(`--direction must be one of ${PROPAGATION_DIRECTIONS.join(', ')}`);
  const maxSlices = str('max-slices') === undefined ? undefined : Number(str('max-slices'));
  if (maxSlices !== undefined && !(Number.isInteger(maxSlices) && maxSlices >= 1)) throw new UsageError('--max-slices must be a whole number from 1');
  let rule: Partial<StopRule> | undefined;
  try {
    rule = str('stop-rule') === undefined ? undefined : stopRuleFromJson(str('stop-rule')!);
  } catch (err) {
    throw new UsageError(`--stop-rule: ${(err as Error).message}`);
  }
  const voiValues = str('voi') === undefined ? undefined : numbers(str('voi')!, '--voi', 2);
  if (voiValues && !(voiValues[1]! > 0)) throw new UsageError('--voi width must be positive');
  const device = (str('device') ?? 'auto') as 'auto' | 'cpu' | 'cuda';
  if (!['auto', 'cpu', 'cuda'].includes(device)) throw new UsageError('--device must be auto, cpu or cuda');
  const threads = str('threads') === undefined ? undefined : Number(str('threads'));

  const series = await readDicomFolder(dir, {
    ...(str('series') ? { seriesInstanceUID: str('series')! } : {}),
    ...(voiValues ? { voi: { center: voiValues[0]!, width: voiValues[1]! } } : {}),
    limits: ServerConfigSchema.parse({}).limits,
  });
  const seedText = str('seed-slice');
  if (seedText === undefined) throw new UsageError('--seed-slice is required: an index in the series order or a SOP Instance UID[:FRAME]');
  let index = /^\d+$/.test(seedText) && Number(seedText) < series.slices.length ? Number(seedText) : -1;
  if (index < 0) {
    const [sop, frame = '1'] = seedText.split(':');
    index = series.slices.findIndex((s) => s.sopInstanceUID === sop && s.frame === Number(frame));
  }
  if (index < 0) throw new UsageError(`--seed-slice ${seedText} is neither an index below ${series.slices.length} nor an image of the series`);
  let seed: StackSeed;
  if (str('seed-mask')) {
    const m = await readMaskPng(str('seed-mask')!);
    if (m.width !== series.columns || m.height !== series.rows) throw new UsageError(`--seed-mask is ${m.width}x${m.height}; the series' images are ${series.columns}x${series.rows}`);
    seed = { index, mask: m.mask };
  } else if (str('seed-point')) {
    const [x, y] = numbers(str('seed-point')!, '--seed-point', 2) as [number, number];
    seed = { index, point: { x, y } };
  } else {
    throw new UsageError('give the seed: --seed-point x,y or --seed-mask FILE.png');
  }
  const predictor = await SamPredictor.open(model, { device, ...(threads ? { threads } : {}) });
  try {
    const p = await propagateStack({ predictor, source: series.source, seed, direction, ...(maxSlices ? { maxSlices } : {}), ...(rule ? { rule } : {}) });
    const report = propagationReport(p, series.names, {
      stack: dir,
      series: { seriesInstanceUID: series.seriesInstanceUID, description: series.description ?? null, slices: series.slices.length, spacing: series.spacing, missing: series.missing },
      model,
      sliceUids: Object.fromEntries([p.seed.index, ...p.slices.map((s) => s.index)].map((i) => [i, { sopInstanceUID: series.slices[i]!.sopInstanceUID, frame: series.slices[i]!.frame }])),
    });
    const out = str('out');
    if (out) await writePropagationOutput(out, p, series.names, series.columns, series.rows, report);
    if (values['json']) process.stdout.write(`${JSON.stringify(report)}\n`);
    else {
      process.stdout.write(
        `series ${series.seriesInstanceUID}: ${series.slices.length} slices ${series.spacing.toFixed(2)} mm apart${series.missing.length ? `, ${series.missing.reduce((a, m) => a + m.count, 0)} missing` : ''}\n` +
          `seed: slice ${p.seed.index}, ${p.seed.area} pixels; found slices ${report.found.first}-${report.found.last} (${report.found.slices})\n` +
          `${p.slicesPerSecond.toFixed(1)} slices/s (${predictor.provider}), ${p.seconds.toFixed(1)} s${out ? `; masks and propagation.json in ${out}` : ''}\n`,
      );
    }
    return 0;
  } finally {
    await predictor.release();
  }
}
