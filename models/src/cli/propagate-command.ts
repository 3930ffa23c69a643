/** glmedsa propagate: a mask through a stack of slices (a folder of PNG slices or a phantom). */
import { parseArgs } from 'node:util';
import { readMaskPng } from '../image/index.js';
import { regionCentre } from '../train/clicks.js';
import { SamPredictor } from '../predict/predictor.js';
import { PROPAGATION_DIRECTIONS, type PropagationDirection } from '../propagate/propagate.js';
import { type NamedSliceSource, lesionStackSource, pngFolderSource } from '../propagate/slice-sources.js';
import { propagationReport, writePropagationOutput } from '../propagate/propagation-output.js';
import { type StackSeed, propagateStack } from '../propagate/stack-propagation.js';
import { DEFAULT_STOP_RULE, type StopRule, stopRuleFromJson } from '../propagate/stop-rule.js';
import { volumeOverlap } from '../propagate/volume-metrics.js';
import type { Device } from '../runtime/session.js';
import { lesionStack, type LesionStack } from '../synth/lesion-stack.js';
import { UsageError, parseChoice, parseInteger, parseNumberList, requireString } from './args.js';

export const propagateHelp = `glmedsa propagate --model DIR (--slices DIR | --phantom SEED[:SITE]) [seed] [options]

Propagates a mask through a stack of slices, as the server does through a series: the seed mask
prompts the next slice (its logits, its box and a point inside it), that answer the one after,
and each direction stops where the object ends.

stacks:
  --slices DIR              a folder of PNG slices of one size, in the order of their file names
                            (numbers compared as numbers: 2.png before 10.png)
  --phantom SEED[:SITE]     a lesion-stack phantom (site A by default); the report adds 3D Dice,
                            the first/last slice offsets and Dice on each lesion slice
  (DICOM folders: npx glmedsa-server propagate --dicom DIR, which orders the files as a volume)
seed (on --seed-slice, a file name or a 0-based index; a phantom's default is its largest slice):
  --seed-point x,y          one click there (SAM's best of three masks)
  --seed-mask FILE.png      the seed's mask (non-zero pixels are the object)
  --seed-truth              (phantom) the true mask of the seed slice; default: a click at its centre
options:
  --direction both|forward|backward   forward is towards later slices (default both)
  --max-slices N            at most N slices on each side of the seed
  --stop-rule JSON          stop rule thresholds, e.g. '{"minStability":0.5}' (defaults below)
  --out DIR                 one mask PNG per slice holding the object, and propagation.json
  --json                    print the report as JSON
  --device auto|cpu|cuda, --threads N

default stop rule: ${JSON.stringify(DEFAULT_STOP_RULE)}`;

export async function propagateCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      slices: { type: 'string' },
      phantom: { type: 'string' },
      dicom: { type: 'string' },
      'seed-slice': { type: 'string' },
      'seed-point': { type: 'string' },
      'seed-mask': { type: 'string' },
      'seed-truth': { type: 'boolean' },
      direction: { type: 'string' },
      'max-slices': { type: 'string' },
      'stop-rule': { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      device: { type: 'string' },
      threads: { type: 'string' },
    },
    strict: true,
  });
  if (values.dicom) throw new UsageError('DICOM folders are read by the server package: npx glmedsa-server propagate --dicom DIR (same options)');
  const modelDir = requireString(values.model, '--model');
  if (!values.slices === !values.phantom) throw new UsageError('give one stack: --slices DIR or --phantom SEED[:SITE]');
  const direction = parseChoice(values.direction, '--direction', PROPAGATION_DIRECTIONS, 'both' as PropagationDirection);
  const maxSlices = values['max-slices'] ? parseInteger(values['max-slices'], '--max-slices', undefined, 1) : undefined;
  let rule: Partial<StopRule> | undefined;
  try {
    rule = values['stop-rule'] === undefined ? undefined : stopRuleFromJson(values['stop-rule']);
  } catch (err) {
    throw new UsageError(`--stop-rule: ${(err as Error).message}`);
  }
  const device = parseChoice(values.device, '--device', ['auto', 'cpu', 'cuda'] as const, 'auto' as Device);
  const threads = values.threads ? parseInteger(values.threads, '--threads', 0, 1, 256) : undefined;

  let source: NamedSliceSource;
  let phantom: LesionStack | null = null;
  if (values.phantom) {
    const [seedText, site = 'A'] = values.phantom.split(':');
    phantom = lesionStack(parseInteger(seedText, '--phantom', undefined, 0, 2 ** 31 - 1), { site, size: 256, slices: 32 });
    source = lesionStackSource(phantom);
  } else {
    source = await pngFolderSource(values.slices!);
  }
  const seedIndex = seedSlice(values['seed-slice'], source, phantom);
  let seed: StackSeed;
  if (values['seed-mask']) {
    const m = await readMaskPng(values['seed-mask']);
    if (m.width !== source.width || m.height !== source.height) throw new UsageError(`--seed-mask is ${m.width}x${m.height}; the slices are ${source.width}x${source.height}`);
    seed = { index: seedIndex, mask: m.mask };
  } else if (values['seed-point']) {
    const [x, y] = parseNumberList(values['seed-point'], '--seed-point', 2) as [number, number];
    seed = { index: seedIndex, point: { x, y } };
  } else if (phantom) {
    const truth = phantom.masks[seedIndex]!;
    if (values['seed-truth']) seed = { index: seedIndex, mask: truth };
    else {
      const c = regionCentre(truth, phantom.size, phantom.size);
      if (!c) throw new UsageError(`the phantom's slice ${seedIndex} does not hold the lesion; choose --seed-point or another --seed-slice`);
      seed = { index: seedIndex, point: c };
    }
  } else {
    throw new UsageError('give the seed: --seed-point x,y or --seed-mask FILE.png');
  }

  const said = new Set<string>();
  const onFallback = (r: string) => {
    if (!said.has(r)) process.stderr.write(`${r}\n`);
    said.add(r);
  };
  const predictor = await SamPredictor.open(modelDir, { device, ...(threads ? { threads } : {}), onFallback });
  try {
    let shown = 0;
    const p = await propagateStack({
      predictor,
      source,
      seed,
      direction,
      ...(maxSlices !== undefined ? { maxSlices } : {}),
      rule,
      onSlice: () => {
        if (!values.json && process.stderr.isTTY) process.stderr.write(`\r${++shown} slices found beyond the seed`);
      },
    });
    if (!values.json && process.stderr.isTTY) process.stderr.write('\n');
    const extra: Record<string, unknown> = { stack: values.slices ?? `phantom ${values.phantom}`, stackSlices: source.count, model: modelDir };
    if (phantom) {
      const predicted = new Map<number, ArrayLike<number>>([[p.seed.index, p.seed.counts], ...p.slices.map((s) => [s.index, s.counts] as [number, ArrayLike<number>])]);
      const o = volumeOverlap(predicted, phantom.masks, phantom.size);
      extra['truth'] = { lesion: phantom.lesion, dice3d: +o.dice.toFixed(4), firstOffset: o.firstOffset, lastOffset: o.lastOffset, perSlice: o.perSlice.map((s) => ({ index: s.index, dice: +s.dice.toFixed(4) })) };
    }
    const report = propagationReport(p, source.names, extra);
    if (values.out) await writePropagationOutput(values.out, p, source.names, source.width, source.height, report);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(report)}\n`);
      return;
    }
    const end = (e: (typeof report)['ended']['forward']) => (e.reason === 'object-ended' ? `the object ended (${e.cause}) after slice ${e.last}` : `${e.reason} at slice ${e.last}`);
    process.stdout.write(
      `seed: slice ${report.seed.index} (${report.seed.name}), ${p.seed.area} pixels\n` +
        `found: slices ${report.found.first}-${report.found.last} (${report.found.slices} of ${source.count})\n` +
        `forward: ${end(report.ended.forward)}; backward: ${end(report.ended.backward)}\n` +
        (extra['truth'] ? `truth: lesion on slices ${phantom!.lesion.first}-${phantom!.lesion.last}; 3D Dice ${(extra['truth'] as { dice3d: number }).dice3d}\n` : '') +
        `${p.slicesPerSecond.toFixed(1)} slices/s (${predictor.provider}), ${p.encodes} encodes, ${p.seconds.toFixed(1)} s${values.out ? `; masks and propagation.json in ${values.out}` : ''}\n`,
    );
  } finally {
    await predictor.release();
  }
}

function seedSlice(value: string | undefined, source: NamedSliceSource, phantom: LesionStack | null): number {
  if (value === undefined) {
    if (phantom) return phantom.lesion.largest;
    throw new UsageError('--seed-slice is required: a slice file name or a 0-based index');
  }
  const byName = source.names.indexOf(value);
  if (byName >= 0) return byName;
  return parseInteger(value, '--seed-slice', undefined, 0, source.count - 1);
}
