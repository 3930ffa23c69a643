/**
 * Binding a checkpoint's state dict to a model config: every key checked against the parameter
 * inventory (missing, extra, wrong shape), floats converted to float32, and adapters that a plain
 * SAM checkpoint lacks created fresh (fc2 = 0, so they start as the identity).
 */
import { type Tensor, float32, shapeString, toFloat32 } from '../tensor.js';
import { Rng } from '../util/random.js';
import { type ModelConfig, VARIANTS } from './config.js';
import { type ParamSpec, parameterSpecs } from './parameters.js';

export type Weights = Map<string, Tensor<'float32'>>;

interface BindOptions {
  /** Create adapters the checkpoint lacks (fresh fc1, zero fc2). Default true. */
  initMissingAdapters?: boolean;
  /** Seed for fresh adapter weights. */
  seed?: number;
  /** Name of the checkpoint, for error messages. */
  source?: string;
}

export interface BoundWeights {
  weights: Weights;
  /** Keys that were created because the checkpoint did not have them. */
  initialized: string[];
}

export class CheckpointMismatchError extends Error {
  constructor(
    message: string,
    readonly missing: string[],
    readonly unexpected: string[],
    readonly wrongShape: string[],
  ) {
    super(message);
    this.name = 'CheckpointMismatchError';
  }
}

/** The adapter keys of every variant of `config`'s model (to explain a checkpoint's extra keys). */
function adapterKeysOfAnyVariant(config: ModelConfig): Set<string> {
  const specs = VARIANTS.flatMap((variant) => parameterSpecs({ ...config, variant }));
  return new Set(specs.filter((s) => s.adapter !== undefined).map((s) => s.name));
}

function listSome(keys: string[], n = 6): string {
  return keys.length <= n ? keys.join(', ') : `${keys.slice(0, n).join(', ')} and ${keys.length - n} more`;
}

export function bindWeights(config: ModelConfig, dict: Map<string, Tensor>, options: BindOptions = {}): BoundWeights {
  const source = options.source ?? 'checkpoint';
  const specs = parameterSpecs(config);
  const expected = new Map(specs.map((s) => [s.name, s]));
  const missing: string[] = [];
  const wrongShape: string[] = [];
  const unexpected = [...dict.keys()].filter((k) => !expected.has(k));
  const weights: Weights = new Map();
  const toInit: ParamSpec[] = [];
  for (const spec of specs) {
    const t = dict.get(spec.name);
    if (!t) {
      if (spec.adapter !== undefined && (options.initMissingAdapters ?? true)) toInit.push(spec);
      else missing.push(spec.name);
      continue;
    }
    if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      wrongShape.push(`${spec.name}: expected ${shapeString(spec.shape)}, found ${shapeString(t.shape)}`);
      continue;
    }
    try {
      weights.set(spec.name, toFloat32(t));
    } catch (err) {
      wrongShape.push(`${spec.name}: ${(err as Error).message}`);
    }
  }
  // A checkpoint that has some but not all of an adapter's tensors is broken, not "plain SAM".
  const partial = toInit.filter((s) => [...dict.keys()].some((k) => k.startsWith(`${s.adapter}.`)));
  missing.push(...partial.map((s) => s.name));
  const problems: string[] = [];
  if (missing.length) problems.push(`missing keys: ${listSome(missing)}`);
  if (wrongShape.length) problems.push(`wrong shapes: ${listSome(wrongShape, 4)}`);
  if (unexpected.length) {
    const adapterKeys = adapterKeysOfAnyVariant(config);
    const adapters = unexpected.filter((k) => adapterKeys.has(k));
    const hint = adapters.length
      ? ` (the checkpoint has adapter weights that variant '${config.variant}' does not use; choose a variant with those adapters)`
      : '';
    problems.push(`unexpected keys: ${listSome(unexpected)}${hint}`);
  }
  if (problems.length) {
    throw new CheckpointMismatchError(
      `${source} does not fit the ${config.variant} model (embed_dim ${config.embed_dim}, depth ${config.depth}): ${problems.join('; ')}`,
      missing,
      unexpected,
      wrongShape,
    );
  }
  const rng = new Rng(options.seed ?? 0);
  for (const spec of toInit.filter((s) => !partial.includes(s))) weights.set(spec.name, freshTensor(spec, rng));
  return { weights, initialized: toInit.filter((s) => !partial.includes(s)).map((s) => s.name) };
}

/** A freshly initialised tensor for a parameter, in the manner of PyTorch's defaults. */
function freshTensor(spec: ParamSpec, rng: Rng): Tensor<'float32'> {
  const t = float32(spec.shape);
  const d = t.data;
  switch (spec.init) {
    case 'zeros':
      break;
    case 'ones':
      d.fill(1);
      break;
    case 'normal':
      for (let i = 0; i < d.length; i++) d[i] = rng.normal();
      break;
    case 'trunc_normal':
      for (let i = 0; i < d.length; i++) {
        let v: number;
        do v = rng.normal(0, 0.02);
        while (Math.abs(v) > 0.04);
        d[i] = v;
      }
      break;
    case 'linear':
    case 'conv': {
      // PyTorch's default for Linear and Conv layers: weight and bias within +-1/sqrt(fan-in).
      if (spec.fanIn === undefined) throw new Error(`${spec.name}: a ${spec.init} init needs the layer's fan-in`);
      const bound = 1 / Math.sqrt(spec.fanIn);
      for (let i = 0; i < d.length; i++) d[i] = rng.uniform(-bound, bound);
      break;
    }
  }
  return t;
}

/** A complete set of fresh weights for a config (for tests, benchmarks and training from scratch). */
export function randomWeights(config: ModelConfig, seed = 0, options: { adapterFc2?: 'zeros' | 'random' } = {}): Weights {
  const specs = parameterSpecs(config);
  const rng = new Rng(seed);
  const weights: Weights = new Map();
  for (const s of specs) {
    const spec = options.adapterFc2 === 'random' && s.init === 'zeros' && s.adapter !== undefined ? { ...s, init: 'linear' as const } : s;
    weights.set(s.name, freshTensor(spec, rng));
  }
  return weights;
}

/**
 * The weights of `config`'s variant built from another model's: tensors the variant has no place
 * for (another variant's adapters) are dropped, adapters it lacks start fresh (fc2 = 0).
 */
export function weightsForVariant(config: ModelConfig, weights: Map<string, Tensor>, options: BindOptions = {}): BoundWeights {
  const wanted = new Set(parameterSpecs(config).map((s) => s.name));
  const kept = new Map([...weights].filter(([k]) => wanted.has(k)));
  return bindWeights(config, kept, options);
}
