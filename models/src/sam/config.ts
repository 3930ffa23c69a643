/**
 * Model configuration: the keys of a parity fixture's `model` object, plus optional extras with
 * SAM's defaults. Presets reproduce the official checkpoints' shapes.
 */
import { z } from 'zod';

export const VARIANTS = ['sam', 'medsa', 'gmedsa', 'glmedsa'] as const;
export type Variant = (typeof VARIANTS)[number];

const activation = z.enum(['gelu', 'relu']);

export const ModelConfigSchema = z
  .object({
    variant: z.enum(VARIANTS).default('sam'),
    /** Input size of the checkpoint's image encoder (pixels, square). */
    img_size: z.number().int().min(32).max(4096),
    patch_size: z.number().int().min(1).max(64),
    embed_dim: z.number().int().min(1).max(8192),
    depth: z.number().int().min(1).max(256),
    heads: z.number().int().min(1).max(256),
    window: z.number().int().min(0).max(1024),
    global_attn_indexes: z.array(z.number().int().min(0)),
    prompt_dim: z.number().int().min(8).max(4096),
    decoder_heads: z.number().int().min(1).max(256),
    decoder_mlp_dim: z.number().int().min(1).max(65536),
    iou_head_hidden_dim: z.number().int().min(1).max(65536),
    adapter_ratio: z.number().positive().max(4).default(0.25),
    mlp_adapter_scale: z.number().default(0.5),
    global_adapter_scale: z.number().default(0.5),
    space_adapter_act: activation.default('gelu'),
    mlp_adapter_act: activation.default('gelu'),
    global_adapter_act: activation.default('relu'),
    mlp_ratio: z.number().positive().default(4),
    mask_in_chans: z.number().int().min(4).default(16),
    decoder_depth: z.number().int().min(1).default(2),
    num_multimask_outputs: z.number().int().min(1).default(3),
    iou_head_depth: z.number().int().min(1).default(3),
    attention_downsample_rate: z.number().int().min(1).default(2),
  })
  .superRefine((c, ctx) => {
    const issue = (message: string, path: string) => ctx.addIssue({ code: 'custom', message, path: [path] });
    if (c.img_size % c.patch_size !== 0) issue('img_size must be a multiple of patch_size', 'img_size');
    if (c.embed_dim % c.heads !== 0) issue('embed_dim must be divisible by heads', 'heads');
    if (c.global_attn_indexes.some((i) => i >= c.depth)) issue('global_attn_indexes must be < depth', 'global_attn_indexes');
    const internal = c.prompt_dim / c.attention_downsample_rate;
    if (c.prompt_dim % c.decoder_heads !== 0 || internal % c.decoder_heads !== 0) {
      issue('prompt_dim (and prompt_dim / attention_downsample_rate) must be divisible by decoder_heads', 'decoder_heads');
    }
    if (c.prompt_dim % 8 !== 0) issue('prompt_dim must be a multiple of 8', 'prompt_dim');
    if (c.mask_in_chans % 4 !== 0) issue('mask_in_chans must be a multiple of 4', 'mask_in_chans');
    if (Math.round(c.embed_dim * c.adapter_ratio) < 1) issue('adapter_ratio leaves no adapter channels', 'adapter_ratio');
  });

export type ModelConfigInput = z.input<typeof ModelConfigSchema>;
export type ModelConfig = z.output<typeof ModelConfigSchema>;

const samCommon = {
  img_size: 1024,
  patch_size: 16,
  window: 14,
  prompt_dim: 256,
  decoder_heads: 8,
  decoder_mlp_dim: 2048,
  iou_head_hidden_dim: 256,
};

export const PRESETS = {
  vit_b: { ...samCommon, embed_dim: 768, depth: 12, heads: 12, global_attn_indexes: [2, 5, 8, 11] },
  vit_l: { ...samCommon, embed_dim: 1024, depth: 24, heads: 16, global_attn_indexes: [5, 11, 17, 23] },
  vit_h: { ...samCommon, embed_dim: 1280, depth: 32, heads: 16, global_attn_indexes: [7, 15, 23, 31] },
} satisfies Record<string, Omit<ModelConfigInput, 'variant'>>;

export type PresetName = keyof typeof PRESETS;

/** Validates a config object, throwing one readable message listing every problem. */
export function parseModelConfig(input: unknown, source = 'model config'): ModelConfig {
  const r = ModelConfigSchema.safeParse(input);
  if (!r.success) {
    const problems = r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid ${source}: ${problems.join('; ')}`);
  }
  return r.data;
}

/**
 * The raw (unvalidated) config in a JSON file: a config object, or a parity fixture's
 * fixture.json whose config is its "model" object.
 */
export async function readConfigFile(file: string): Promise<Record<string, unknown>> {
  const { readFile } = await import('node:fs/promises');
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read the model config ${file}: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${file} does not hold a JSON object`);
  const obj = json as Record<string, unknown>;
  const model = obj['model'];
  return { ...(typeof model === 'object' && model !== null && !Array.isArray(model) ? (model as Record<string, unknown>) : obj) };
}

export function presetConfig(name: string, variant: Variant = 'sam'): ModelConfig {
  if (!(name in PRESETS)) throw new Error(`unknown preset '${name}' (choose ${Object.keys(PRESETS).join(', ')})`);
  return parseModelConfig({ ...PRESETS[name as PresetName], variant }, `preset ${name}`);
}

export const hasLocalAdapters = (v: Variant) => v === 'medsa' || v === 'glmedsa';
export const hasGlobalAdapter = (v: Variant) => v === 'gmedsa' || v === 'glmedsa';

/** Hidden width of every adapter bottleneck. */
export const adapterDim = (c: ModelConfig) => Math.round(c.embed_dim * c.adapter_ratio);
export const embedGrid = (c: ModelConfig, imgSize = c.img_size) => imgSize / c.patch_size;
